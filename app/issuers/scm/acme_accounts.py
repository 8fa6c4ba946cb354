"""SCM-side ACME accounts (`/acme/v2/account`): where an organization's EAB kid and key live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from app.issuers.scm.session import ScmSession, id_from_location


@dataclass(frozen=True, slots=True)
class AcmeAccount:
    id: int
    name: str
    status: str | None
    acme_server: str | None
    organization_id: int | None
    mac_id: str | None  # the EAB key id ("kid")
    mac_key: SecretStr | None = field(repr=False)  # the EAB HMAC key, base64url
    cert_validation_type: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AcmeAccount:
        org = data.get("organizationId")
        return cls(
            id=int(data["id"]),
            name=str(data.get("name", "")),
            status=data.get("status"),
            acme_server=data.get("acmeServer"),
            organization_id=int(org) if org is not None else None,
            mac_id=data.get("macId"),
            mac_key=SecretStr(data["macKey"]) if data.get("macKey") else None,
            cert_validation_type=data.get("certValidationType"),
        )


@dataclass(frozen=True, slots=True)
class EabCredentials:
    kid: str
    hmac_key: SecretStr = field(repr=False)  # base64url without padding, as SCM gives it


class AcmeAccountEndpoints:
    session: ScmSession

    def list_acme_accounts(
        self, organization_id: int, *, name: str | None = None, acme_server: str | None = None
    ) -> AsyncIterator[AcmeAccount]:
        return self.session.paginate(
            "acme/v2/account",
            AcmeAccount.from_json,
            organizationId=organization_id,
            name=name,
            acmeServer=acme_server,
        )

    async def get_acme_account(self, account_id: int) -> AcmeAccount:
        return AcmeAccount.from_json(await self.session.get_json(f"acme/v2/account/{account_id}"))

    async def create_acme_account(self, name: str, acme_server: str, organization_id: int) -> int:
        body = {"name": name, "acmeServer": acme_server, "organizationId": organization_id}
        response = await self.session.request("POST", "acme/v2/account", json=body)
        return id_from_location(response)

    async def eab_credentials(
        self, organization_id: int, acme_server: str, *, name: str = "certbroker"
    ) -> EabCredentials:
        """The EAB pair of the org's account `name` on `acme_server`, creating it if missing."""
        account = None
        async for candidate in self.list_acme_accounts(organization_id, name=name):
            if candidate.name == name and candidate.acme_server == acme_server:
                account = candidate
                break
        if account is None:
            account_id = await self.create_acme_account(name, acme_server, organization_id)
            account = await self.get_acme_account(account_id)
        if not account.mac_id or account.mac_key is None:
            raise ValueError(f"ACME account {account.id} has no EAB credentials")
        return EabCredentials(kid=account.mac_id, hmac_key=account.mac_key)
