"""What an SCM certificate becomes in the inventory: pure mapping, no database or CA."""

from __future__ import annotations

import datetime as dt

from app.certificates.models import CertificateStatus
from app.inventory.sync import imported_certificate, product_for_profile
from app.issuers.scm.ssl import CollectedCertificate
from app.issuers.scm.ssl_models import CertificateDetails
from app.organizations.models import Organization
from tests.inventory.conftest import TinyCa

NOW = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
ORG = Organization(id="o" * 32, tenant_id="t" * 32, name="org")


def details(**raw: object) -> CertificateDetails:
    data = {
        "sslId": 77,
        "status": "Issued",
        "commonName": "Shop.Example.com",
        "certType": {"id": 3, "name": "Custom Profile"},
        "validationType": "Organization Validation (OV)",
        "term": 365,
        "subjectAlternativeNames": ["shop.example.com", "www.shop.example.com"],
        "serialNumber": "0A:BC",
        "issued": "01/02/2026",
        "expires": "01/02/2027",
        "keyType": "RSA - 3072",
        "requester": "alice",
        **raw,
    }
    return CertificateDetails.from_json(data)


def test_profiles_map_to_catalog_products_by_name() -> None:
    assert product_for_profile("instantssl").code == "instantssl"  # type: ignore[union-attr]
    assert product_for_profile("EV Multi-Domain").code == "ev-multi-domain"  # type: ignore[union-attr]
    assert product_for_profile("Custom Profile") is None
    assert product_for_profile(None) is None


def test_without_a_download_the_details_fill_the_row() -> None:
    cert = imported_certificate(ORG, details(), CertificateStatus.ISSUED, None, NOW)
    assert cert.product == "external" and cert.validation_level == "OV"
    assert cert.common_name == "shop.example.com"
    assert cert.names == ["shop.example.com", "www.shop.example.com"]
    assert cert.key_type == "RSA-3072" and cert.serial == "abc"
    assert cert.not_after == dt.datetime(2027, 1, 2, tzinfo=dt.UTC)
    assert cert.backend == "scm" and cert.backend_ref == "77" and cert.source == "scm_import"
    assert cert.requested_by == "scm:alice" and cert.auto_renew is False
    assert cert.csr_pem == "" and cert.key_source == "csr"
    assert cert.detail["ordered_outside_broker"] is True


def test_the_leaf_wins_over_the_details_and_dates_decide_expiry() -> None:
    ca = TinyCa()
    leaf = ca.leaf("api.example.com", days_left=-1)
    collected = CollectedCertificate(leaf=leaf, chain=[ca.cert])
    cert = imported_certificate(
        ORG,
        details(commonName="api.example.com", certType={"id": 1, "name": "InstantSSL"}),
        CertificateStatus.ISSUED,  # SCM may still say Issued after the end date
        collected,
        dt.datetime.now(dt.UTC),
    )
    assert cert.status == CertificateStatus.EXPIRED
    assert cert.product == "instantssl" and cert.validation_level == "OV"
    assert cert.key_type == "EC-P384" and cert.not_after == leaf.not_valid_after_utc
    assert cert.leaf_pem and cert.chain_pem and cert.issuer_dn == "CN=Tiny Test CA"


def test_revoked_orders_keep_their_revocation_date() -> None:
    cert = imported_certificate(
        ORG, details(status="Revoked", revoked="03/04/2026"), CertificateStatus.REVOKED, None, NOW
    )
    assert cert.status == CertificateStatus.REVOKED
    assert cert.revoked_at == dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
