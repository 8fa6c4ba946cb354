"""GET /ssl/v1/types and /ssl/v1/customFields: the tenant's certificate profiles and fields."""

from __future__ import annotations

from fastapi import APIRouter

from app.sandbox.scm.catalog import CUSTOM_FIELDS, ORGANIZATIONS, PROFILES
from app.sandbox.scm.errors import ScmError

router = APIRouter()


@router.get("/types")
async def list_profiles(organizationId: int | None = None) -> list[dict]:
    profile_ids = list(PROFILES)
    if organizationId is not None:
        org = ORGANIZATIONS.get(organizationId)
        if org is None:
            raise ScmError(-1023, f"Organization with id {organizationId} was not found.")
        profile_ids = list(org.profile_ids)
    return [PROFILES[profile_id].public() for profile_id in profile_ids]


@router.get("/customFields")
async def list_custom_fields() -> list[dict]:
    return CUSTOM_FIELDS
