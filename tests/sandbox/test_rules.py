"""Pure rules of the simulator, without a server: CSR checks, serial spelling, formats, names."""

from __future__ import annotations

import pytest

from app.sandbox.scm.collect_formats import FORMATS, canonical_format
from app.sandbox.scm.csr import check_key, key_type, parse_csr
from app.sandbox.scm.domain_validation import candidate_emails
from app.sandbox.scm.enrollment import requested_names
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.order_views import colon_hex
from tests.sandbox.csrs import make_csr

PROFILE_KEYS = {"RSA": ["2048", "3072", "4096"], "EC": ["P-256", "P-384"]}


def test_csr_accepted_as_pem_or_bare_base64():
    pem = make_csr("a.example.com")
    bare = "".join(line for line in pem.splitlines() if "-----" not in line)
    assert parse_csr(pem).subject == parse_csr(bare).subject
    assert key_type(parse_csr(pem)) == ("EC", "P-256")
    assert check_key(parse_csr(pem), PROFILE_KEYS) == "EC - P-256"


@pytest.mark.parametrize(("text", "code"), [("%%%", -9), ("QUJD", -10)])
def test_bad_csrs(text, code):
    with pytest.raises(ScmError) as error:
        parse_csr(text)
    assert error.value.code == code


def test_key_outside_profile_is_13():
    with pytest.raises(ScmError) as error:
        check_key(parse_csr(make_csr("a.example.com")), {"RSA": ["2048"]})
    assert error.value.code == -13


def test_colon_hex_pads_and_uppercases():
    assert colon_hex("abcd0f") == "AB:CD:0F"
    assert colon_hex("bcd0f") == "0B:CD:0F"


def test_format_names_are_case_insensitive_and_default_to_base64():
    assert canonical_format(None) == "base64"
    assert canonical_format("X509co") == "x509CO"
    assert len(FORMATS) == 10
    with pytest.raises(ScmError) as error:
        canonical_format("pkcs12")
    assert error.value.code == -126


def test_names_come_from_csr_cn_and_comma_separated_sans():
    assert requested_names("WWW.Example.com", " a.example.com, b.example.com ,") == (
        "www.example.com",
        ["a.example.com", "b.example.com"],
    )
    assert requested_names(None, "only.example.com") == ("only.example.com", ["only.example.com"])


def test_email_candidates_walk_up_to_the_registered_domain():
    emails = candidate_emails("a.b.example.org")
    assert "admin@a.b.example.org" in emails and "hostmaster@example.org" in emails
    assert not any(email.endswith("@org") for email in emails)
