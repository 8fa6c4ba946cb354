"""The OAuth2 contract: token answers, RFC 6749 errors, RFC 8414 metadata, the JWKS document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class TokenRequest(BaseModel):
    """The token request form. Every field is optional here so that a missing one is answered
    with an RFC 6749 error rather than a 422 problem."""

    grant_type: str | None = Field(default=None, max_length=100, examples=["client_credentials"])
    scope: str | None = Field(
        default=None,
        max_length=1000,
        description="Space-separated; all the client's scopes when omitted.",
    )
    client_id: str | None = Field(
        default=None, max_length=200, description="Only with client_secret_post."
    )
    client_secret: str | None = Field(
        default=None, max_length=500, description="Only with client_secret_post."
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
    scope: str = Field(description="The granted scopes, space-separated.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9...",
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "scope": "certificates:read certificates:write",
                }
            ]
        }
    }


class OAuthError(BaseModel):
    """RFC 6749 §5.2 error (the token endpoint speaks OAuth2, not problem+json)."""

    error: str = Field(
        description="invalid_request, invalid_client, invalid_grant, invalid_scope, "
        "unauthorized_client or unsupported_grant_type"
    )
    error_description: str | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"error": "invalid_scope", "error_description": "scope not granted: keys:export"}
            ]
        }
    }


class ServerMetadata(BaseModel):
    """RFC 8414 authorization server metadata."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    scopes_supported: list[str]
    response_types_supported: list[str] = []


class JsonWebKeySet(BaseModel):
    keys: list[dict[str, Any]]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "keys": [
                        {
                            "kty": "EC",
                            "crv": "P-256",
                            "x": "r9BV-5-SJV1POtHMeLKej6JqjlcupPbvyCaNuFYy0kA",
                            "y": "hKq166ybRv_GCdlYCdPMLWfKiPMnivgnhiFMm5Q24EQ",
                            "kid": "--zz_F1C0Fxyfoznd7cG_RNQFEIkTX_W8HpOAKZxmQI",
                            "alg": "ES256",
                            "use": "sig",
                        }
                    ]
                }
            ]
        }
    }
