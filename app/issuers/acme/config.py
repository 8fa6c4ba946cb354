"""The per-organization ACME settings (`IssueRequest.backend_config`) as a validated model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

ChallengeType = Literal["http-01", "dns-01"]


class AcmeConfig(BaseModel):
    """Keys of `backend_config` for the "acme" issuer.

    directory_url   the directory itself (Sectigo's has no "/directory" suffix); https only,
                    because the URL comes from organization settings and must not become a
                    way to make the broker fetch arbitrary plain-HTTP endpoints
    contact_email   account contact, optional
    eab_kid, eab_hmac_key   External Account Binding (HMAC key base64url, padding optional)
    challenge_types preference order; wildcards always use dns-01
    dns_provider, dns_config   a DnsProviderRegistry name and its settings, for dns-01
    webroot         also write HTTP-01 tokens under <webroot>/.well-known/acme-challenge/
    ca_bundle_pem   PEM text of extra roots to trust for the ACME server (test CAs)
    account_scope   which account key to use at this directory, normally the organization id
    account_key_type   "ec256" (ES256, default) or "rsa2048" (RS256) for new accounts
    preferred_chain    issuer common name of the chain's top certificate, to pick an alternate
    dns_propagation_timeout   seconds to wait for TXT records to be served
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    directory_url: str
    contact_email: str | None = None
    eab_kid: str | None = None
    eab_hmac_key: SecretStr | None = None
    challenge_types: list[ChallengeType] = Field(default_factory=lambda: ["http-01", "dns-01"])
    dns_provider: str | None = None
    dns_config: dict[str, Any] = Field(default_factory=dict)
    webroot: str | None = None
    ca_bundle_pem: str | None = None
    account_scope: str = "default"
    account_key_type: Literal["ec256", "rsa2048"] = "ec256"
    preferred_chain: str | None = None
    dns_propagation_timeout: float = 120.0

    @field_validator("directory_url")
    @classmethod
    def _https_only(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("the ACME directory URL must be https://")
        return value

    @field_validator("challenge_types")
    @classmethod
    def _some_challenge(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one challenge type is needed")
        return value

    @property
    def hmac_key(self) -> str | None:
        return self.eab_hmac_key.get_secret_value() if self.eab_hmac_key else None
