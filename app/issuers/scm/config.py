"""An organization's SCM settings (`backend_config`), parsed and checked, and the auth used."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from app.issuers.scm.auth import ClientCertAuth, HeaderAuth, OAuthAuth, ScmAuth

DEFAULT_TOKEN_URL = (
    "https://auth.sso.sectigo.com/auth/realms/apiclients/protocol/openid-connect/token"
)


class ScmBackendConfig(BaseModel):
    """The keys of `backend_config` for the "scm" issuer. Unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    base_url: str  # …/api, …/private/api for client_cert, or the Admin API host's /api
    auth_style: Literal["header", "oauth", "client_cert"] = "header"
    login: str | None = None
    password: SecretStr | None = None
    customer_uri: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    token_url: str = DEFAULT_TOKEN_URL
    client_cert_file: str | None = None  # PEM certificate (may include the key)
    client_key_file: str | None = None
    ca_file: str | None = None  # trust anchors for SCM's TLS certificate; system store if None
    org_id: int  # SCM organization or department id to enroll under
    profile_overrides: dict[str, int] = Field(default_factory=dict)  # product code -> profile id
    custom_fields: dict[str, str] = Field(default_factory=dict)
    dcv_mode: str | None = None  # EMAIL, CNAME, HTTP, HTTPS, TXT when not pre-validated
    dcv_email: str | None = None
    external_requester: str | None = None  # fallback when the request names no requester
    approve_at_ca: bool = False  # the broker approved; approve awaiting orders in SCM once
    chain_format: str = "x509"  # download format the chain is read from (reordered anyway)

    @model_validator(mode="after")
    def _credentials_match_style(self) -> ScmBackendConfig:
        needed = {
            "header": ("login", "password", "customer_uri"),
            "oauth": ("client_id", "client_secret"),
            "client_cert": ("login", "customer_uri", "client_cert_file"),
        }[self.auth_style]
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"auth_style {self.auth_style!r} needs {', '.join(missing)}")
        if self.auth_style == "client_cert" and "/private" not in self.base_url:
            raise ValueError("client_cert auth uses the /private/api base URL")
        return self

    def build_auth(self) -> ScmAuth:
        if self.auth_style == "header":
            assert self.login and self.password and self.customer_uri
            return HeaderAuth(self.login, self.password, self.customer_uri)
        if self.auth_style == "oauth":
            assert self.client_id and self.client_secret
            return OAuthAuth(self.client_id, self.client_secret, self.token_url)
        assert self.login and self.customer_uri and self.client_cert_file
        return ClientCertAuth(
            self.login, self.customer_uri, self.client_cert_file, self.client_key_file, self.ca_file
        )

    def client_key(self) -> tuple[str, ...]:
        """Identifies one SCM endpoint + identity; secrets enter only as a digest."""
        secret = self.password or self.client_secret
        digest = hashlib.sha256(secret.get_secret_value().encode()).hexdigest() if secret else ""
        return (
            self.base_url.rstrip("/"),
            self.auth_style,
            self.login or "",
            self.customer_uri or "",
            self.client_id or "",
            self.client_cert_file or "",
            self.token_url if self.auth_style == "oauth" else "",
            self.ca_file or "",
            digest,
        )
