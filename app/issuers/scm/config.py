"""An organization's SCM settings (`backend_config`), parsed and checked, and the auth used."""

from __future__ import annotations

import hashlib
import ssl
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from app.crypto.pem import client_context
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
    client_cert_pem: str | None = None  # the client certificate (and its chain), PEM text
    client_key_pem: SecretStr | None = None  # its private key, PEM text
    ca_bundle_pem: str | None = None  # extra roots for SCM's TLS certificate, PEM text
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
            "client_cert": ("login", "customer_uri", "client_cert_pem", "client_key_pem"),
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
        assert self.login and self.customer_uri and self.client_cert_pem
        return ClientCertAuth(
            self.login, self.customer_uri, self.client_cert_pem, self.client_key_pem,
            self.ca_bundle_pem,
        )  # fmt: skip

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context this configuration needs, or None for the system's defaults."""
        if self.auth_style == "client_cert":
            return self.build_auth().ssl_context()  # type: ignore[attr-defined]
        return client_context(self.ca_bundle_pem) if self.ca_bundle_pem else None

    def client_key(self) -> tuple[str, ...]:
        """Identifies one SCM endpoint + identity; secrets enter only as a digest."""
        secrets = [s.get_secret_value() for s in (self.password, self.client_secret) if s]
        secrets += [self.client_key_pem.get_secret_value()] if self.client_key_pem else []
        digest = hashlib.sha256("\0".join(secrets).encode()).hexdigest() if secrets else ""
        pems = "\0".join((self.client_cert_pem or "", self.ca_bundle_pem or ""))
        return (
            self.base_url.rstrip("/"),
            self.auth_style,
            self.login or "",
            self.customer_uri or "",
            self.client_id or "",
            self.token_url if self.auth_style == "oauth" else "",
            hashlib.sha256(pems.encode()).hexdigest(),
            digest,
        )
