"""SCM wire quirks absorbed by parsing: US dates, id/sslId, SAN spellings, serials, config."""

import datetime as dt

import pytest
from pydantic import ValidationError

from app.issuers.scm.config import ScmBackendConfig
from app.issuers.scm.revocation import scm_reason_code
from app.issuers.scm.ssl_models import (
    CertificateDetails,
    EnrollRequest,
    parse_scm_date,
    split_names,
)


def test_us_dates_and_ids():
    details = CertificateDetails.from_json(
        {
            "sslId": 5,
            "status": "Issued",
            "requested": "05/21/2025",
            "expires": "12/31/2026",
            "approved": "",
            "serialNumber": "0B:CD:0F",
            "certType": {"id": 224, "name": "X"},
            "certificateDetails": {"subjectAltNames": "dNSName=a.example, dNSName=b.example"},
        }
    )
    assert details.ssl_id == 5
    assert details.requested == dt.date(2025, 5, 21)
    assert details.expires == dt.date(2026, 12, 31)
    assert details.approved is None
    assert details.serial_hex == "bcd0f"
    assert details.sans == ["a.example", "b.example"]
    assert CertificateDetails.from_json({"id": 9, "sslId": 8}).ssl_id == 9  # id preferred
    assert parse_scm_date("2025-05-21") == dt.date(2025, 5, 21)


def test_san_spellings():
    assert split_names(["a", "b"]) == ["a", "b"]
    assert split_names("a, b,c") == ["a", "b", "c"]
    assert split_names("www.a.net; www.b.net") == ["www.a.net", "www.b.net"]


def test_enroll_sends_sans_as_comma_string():
    body = EnrollRequest(org_id=1, csr=" x \n", cert_type=2, term=365, sans=["a", "b"]).to_json()
    assert body["subjAltNames"] == "a,b"
    assert body["csr"] == "x"


def test_config_checks_credentials_per_style_and_hides_secrets():
    with pytest.raises(ValidationError, match="password"):
        ScmBackendConfig(base_url="https://x/api", login="l", customer_uri="c", org_id=1)
    with pytest.raises(ValidationError, match="private"):
        ScmBackendConfig(
            base_url="https://x/api",
            auth_style="client_cert",
            login="l",
            customer_uri="c",
            client_cert_pem="-----BEGIN CERTIFICATE-----",
            client_key_pem="-----BEGIN PRIVATE KEY-----",
            org_id=1,
        )
    config = ScmBackendConfig(
        base_url="https://x/api", login="l", password="hunter2", customer_uri="c", org_id=1
    )
    assert "hunter2" not in repr(config)
    assert "hunter2" not in repr(config.build_auth())
    assert "hunter2" not in repr(config.client_key())


@pytest.mark.parametrize(("rfc", "scm"), [(0, 0), (1, 1), (2, 1), (3, 3), (4, 4), (5, 5), (6, 0)])
def test_rfc5280_reasons_map_to_scm_codes(rfc, scm):
    assert scm_reason_code(rfc) == scm


def test_marker_is_bracketed_and_survives_long_comments():
    from app.issuers.scm.enroll import carries_marker, with_marker

    text = with_marker("x" * 2000, "certbroker:1")
    assert len(text) == 1024 and carries_marker(text, "certbroker:1")
    assert not carries_marker(with_marker(None, "certbroker:12"), "certbroker:1")
    assert with_marker(text, "certbroker:1") == text
