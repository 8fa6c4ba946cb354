"""Enroll -> collect -> details -> renew/replace/revoke against the simulator over HTTP."""

import asyncio
import datetime as dt
import re

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.issuers.scm import ScmNotFoundError, ScmValidationError
from app.issuers.scm.chain import load_certificates, order_chain

from .keys import make_csr, verify_chain
from .ordering import enroll, issued, root_of, wait_collect

SPKI = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("kind", ["ec", "rsa"])
async def test_enroll_collect_and_verify_chain(scm, sandbox, unique_cn, kind):
    sans = [unique_cn, f"api.{unique_cn}"]
    result, _, key = await enroll(scm, unique_cn, sans=sans, kind=kind)
    assert result.renew_id and not result.recovered
    collected = await issued(scm, result.ssl_id)
    assert collected.leaf.public_key().public_bytes(*SPKI) == key.public_key().public_bytes(*SPKI)
    verify_chain(collected.leaf, collected.chain, root_of(sandbox))

    details = await scm.details(result.ssl_id)
    assert details.status == "Issued"
    assert details.ssl_id == result.ssl_id
    assert details.common_name == unique_cn
    assert set(details.sans) >= set(sans)  # an array in details, a comma string in enroll
    assert details.issued == dt.date.today() or details.issued is not None
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", details.raw["expires"])  # US MM/dd/yyyy on the wire
    assert details.expires > details.requested
    assert details.serial_hex == format(collected.leaf.serial_number, "x")
    assert details.comments == f"[certbroker:test-{unique_cn}]"


@pytest.mark.parametrize(
    "fmt", ["x509", "x509R", "pem", "pemia", "base64", "bin", "x509IO", "x509IOR"]
)
async def test_every_download_format_yields_a_verifiable_chain(scm, sandbox, unique_cn, fmt):
    result, _, _ = await enroll(scm, unique_cn)
    await wait_collect(scm, result.ssl_id)
    leaf = load_certificates(await scm.collect(result.ssl_id, "x509CO"))[0]
    for path_form in (False, True):
        bundle = load_certificates(await scm.collect(result.ssl_id, fmt, path_form=path_form))
        chain = order_chain(leaf, bundle)
        assert chain, fmt
        verify_chain(leaf, chain, root_of(sandbox))


async def test_renew_by_id_and_by_renew_id(scm, unique_cn):
    result, _, _ = await enroll(scm, unique_cn)
    await wait_collect(scm, result.ssl_id)
    new_csr, _ = make_csr(unique_cn)
    new_id = await scm.renew_by_id(result.ssl_id, csr=new_csr)
    assert new_id and new_id != result.ssl_id
    await wait_collect(scm, new_id)
    assert (await scm.details(new_id)).common_name == unique_cn

    await scm.renew(result.renew_id)
    total = await scm.count_certificates(common_name=unique_cn)
    assert total == 3


async def test_replace_keeps_ssl_id(scm, sandbox, unique_cn):
    result, _, _ = await enroll(scm, unique_cn)
    old = await issued(scm, result.ssl_id)
    new_csr, new_key = make_csr(unique_cn, kind="rsa")
    await scm.replace(result.ssl_id, csr=new_csr, reason="key rotation", sans=[unique_cn])
    for _ in range(200):
        details = await scm.details(result.ssl_id)
        if details.status == "Issued" and details.serial_hex != format(old.leaf.serial_number, "x"):
            break
        await asyncio.sleep(0.02)
    new = await issued(scm, result.ssl_id)
    assert new.leaf.public_key().public_bytes(*SPKI) == new_key.public_key().public_bytes(*SPKI)
    verify_chain(new.leaf, new.chain, root_of(sandbox))


async def test_revoke_by_id_and_serial(scm, unique_cn):
    first, _, _ = await enroll(scm, unique_cn)
    second, _, _ = await enroll(scm, f"b.{unique_cn}", marker=f"certbroker:b-{unique_cn}")
    await wait_collect(scm, first.ssl_id)
    leaf = (await issued(scm, second.ssl_id)).leaf

    with pytest.raises(ValueError, match="reasonCode"):
        await scm.revoke(first.ssl_id, 2, "CA compromise")
    await scm.revoke(first.ssl_id, 1, "key compromise")
    assert (await scm.details(first.ssl_id)).status == "Revoked"
    with pytest.raises(ScmValidationError) as again:
        await scm.revoke(first.ssl_id, 1, "again")
    assert again.value.code == -159

    await scm.revoke_by_serial(format(leaf.serial_number, "x"), 4, "superseded")
    details = await scm.details(second.ssl_id)
    assert details.status == "Revoked"
    assert details.revoked is not None


async def test_approve_ev_and_decline(scm, unique_cn):
    ev, _, _ = await enroll(scm, unique_cn, profile="EV SSL")
    assert (await scm.details(ev.ssl_id)).status == "Requested"  # awaits approval
    await scm.approve(ev.ssl_id, "checked by the broker")
    await wait_collect(scm, ev.ssl_id)
    assert (await scm.details(ev.ssl_id)).approved is not None

    other, _, _ = await enroll(scm, f"d.{unique_cn}", profile="EV SSL", marker="certbroker:d")
    await scm.decline(other.ssl_id, "not wanted")
    assert (await scm.details(other.ssl_id)).status == "Declined"


async def test_unknown_id_and_validation_errors(scm, unique_cn):
    with pytest.raises(ScmNotFoundError) as missing:
        await scm.details(99999999)
    assert missing.value.status == 404
    with pytest.raises(ScmValidationError) as bad_term:
        await enroll(scm, unique_cn, term=999)
    assert bad_term.value.code == -36
    assert "999" in bad_term.value.description
