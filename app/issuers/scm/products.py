"""Broker product codes -> SCM profile ids, looked up by profile name per organization.

Profile ids differ per SCM tenant, so none is hard-coded: `/ssl/v1/types?organizationId=` is
read (and cached for a while) and matched by name, unless the organization overrides the id.
"""

from __future__ import annotations

import time

from app.issuers.scm.client import ScmClient
from app.issuers.scm.ssl_models import Profile

PRODUCT_PROFILE_NAMES: dict[str, str] = {
    "positivessl": "PositiveSSL",
    "positivessl-wildcard": "PositiveSSL Wildcard",
    "positivessl-multi-domain": "PositiveSSL Multi-Domain",
    "instantssl": "InstantSSL",
    "instantssl-pro": "InstantSSL Pro",
    "instantssl-premium-wildcard": "InstantSSL Premium Wildcard",
    "ev-ssl": "EV SSL",
    "ev-multi-domain": "EV Multi-Domain",
}


class UnknownProductError(LookupError):
    """The product has no profile in this organization; the message says which and why."""


class ProfileCatalog:
    """Profiles per (SCM endpoint, organization), cached for `ttl` seconds."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._cache: dict[tuple[str, int], tuple[float, list[Profile]]] = {}

    async def profiles(self, client: ScmClient, org_id: int) -> list[Profile]:
        key = (client.session.base_url, org_id)
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        profiles = await client.list_profiles(organization_id=org_id)
        self._cache[key] = (time.monotonic() + self.ttl, profiles)
        return profiles

    async def resolve(
        self, client: ScmClient, org_id: int, product: str, overrides: dict[str, int]
    ) -> Profile:
        profiles = await self.profiles(client, org_id)
        if product in overrides:
            wanted = overrides[product]
            match = next((p for p in profiles if p.id == wanted), None)
            if match is None:
                raise UnknownProductError(
                    f"profile id {wanted} configured for {product} is not offered to "
                    f"SCM organization {org_id}"
                )
            return match
        name = PRODUCT_PROFILE_NAMES.get(product)
        if name is None:
            raise UnknownProductError(f"product {product!r} is not sold through SCM")
        match = next((p for p in profiles if p.name.casefold() == name.casefold()), None)
        if match is None:
            raise UnknownProductError(
                f"SCM organization {org_id} has no profile named {name!r} (for {product})"
            )
        return match
