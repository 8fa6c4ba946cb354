"""GET /organization/v1 and /organization/v1/{id}: the seeded organizations and departments."""

from __future__ import annotations

from fastapi import APIRouter

from app.sandbox.scm.catalog import ORGANIZATIONS, Organization
from app.sandbox.scm.errors import ScmError

router = APIRouter()


def _department(org: Organization) -> dict:
    parent = ORGANIZATIONS[org.parent_id] if org.parent_id else None
    return {
        "id": org.id,
        "name": org.name,
        "parentName": parent.name if parent else "",
        "certTypes": list(org.cert_types),
    }


def _departments(org: Organization) -> list[dict]:
    return [_department(d) for d in ORGANIZATIONS.values() if d.parent_id == org.id]


@router.get("")
async def list_organizations() -> list[dict]:
    return [
        {
            "id": org.id,
            "name": org.name,
            "certTypes": list(org.cert_types),
            "departments": _departments(org),
        }
        for org in ORGANIZATIONS.values()
        if org.parent_id is None
    ]


@router.get("/{org_id}")
async def organization_details(org_id: int) -> dict:
    org = ORGANIZATIONS.get(org_id)
    if org is None:
        raise ScmError(-1023, f"Organization with id {org_id} was not found.", 404)
    body = {
        "id": org.id,
        "name": org.name,
        "alias": org.name.lower().replace(" ", "-"),
        "secondaryName": org.secondary_name,
        "contactEmails": [f"pki@{org.name.lower().replace(' ', '')}.example"],
        "address1": org.address1,
        "city": org.city,
        "stateOrProvince": org.state,
        "postalCode": org.postal_code,
        "country": org.country,
        "validationStatus": "VALIDATED",
        "secondaryValidationStatus": "NOT_VALIDATED",
        "sslCertsApiEnabled": "SSL" in org.cert_types,
        "clientCertsApiEnabled": "SMIME" in org.cert_types,
        "certTypes": list(org.cert_types),
        "departments": _departments(org),
    }
    if org.parent_id:
        body["parentName"] = ORGANIZATIONS[org.parent_id].name
    return body
