"""An organization's DNS-01 settings: a closed, typed union, one shape per provider kind.

`provider` picks the shape (`rfc2136`, `lexicon`, `cname-delegation`); any other name, or any
field the shape does not have, is a 422 naming it. Secrets (`tsig_secret`, lexicon
`credentials`) are write-only: answers list which ones are set, never their values.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

# One DNS label (1-63 octets; "_" allowed, as in _acme-challenge) and a name of such labels.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_NAME = rf"{_LABEL}(?:\.{_LABEL})*\.?"
Host = Annotated[
    str,
    StringConstraints(min_length=1, max_length=253, pattern=rf"^(?:{_NAME}|[0-9A-Fa-f:.]+)$"),
]
# "host", "host:port" or "[v6]:port"
Endpoint = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=260,
        pattern=rf"^(?:\[[0-9A-Fa-f:.]+\]|{_NAME})(?::[0-9]{{1,5}})?$",
    ),
]
Zone = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=rf"^{_NAME}$")]
OptionName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
OptionValue = Annotated[str, StringConstraints(max_length=2048)]
Port = Annotated[int, Field(ge=1, le=65535)]
Ttl = Annotated[int, Field(ge=1, le=86400)]
# Bounds on every wait a tenant sets: a DNS server or API that does not answer costs at most this.
QueryTimeout = Annotated[float, Field(gt=0, le=30)]
ApiTimeout = Annotated[float, Field(gt=0, le=60)]
PollInterval = Annotated[float, Field(ge=0.1, le=30)]
TsigAlgorithm = Literal["hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"]

CLOSED = ConfigDict(extra="forbid")


class Rfc2136Settings(BaseModel):
    """RFC 2136 dynamic updates (BIND, Knot, PowerDNS, Windows DNS), TSIG-signed."""

    model_config = CLOSED

    provider: Literal["rfc2136"]
    server: Host = Field(description="primary server taking updates (IP or host name)")
    port: Port = 53
    zone: Zone | None = Field(default=None, description="default: found by SOA queries")
    tsig_key_name: Host | None = None
    tsig_algorithm: TsigAlgorithm = "hmac-sha256"
    ttl: Ttl = 60
    timeout: QueryTimeout = 10.0
    poll_interval: PollInterval = 1.0
    authoritative_servers: list[Endpoint] = Field(
        default_factory=list,
        max_length=10,
        description="where to confirm records (default: the zone's NS addresses)",
    )


class Rfc2136SettingsIn(Rfc2136Settings):
    tsig_secret: SecretStr | None = Field(
        default=None, max_length=1024, description="write-only, base64"
    )


class Rfc2136SettingsOut(Rfc2136Settings):
    secrets_set: list[str] = Field(description="write-only fields that hold a value")


class LexiconSettings(BaseModel):
    """Any DNS provider API dns-lexicon speaks (see GET /v1/dns/providers)."""

    model_config = CLOSED

    provider: Literal["lexicon"]
    lexicon_provider: OptionName = Field(examples=["cloudflare", "azure", "powerdns"])
    zone: Zone | None = Field(
        default=None, description="the zone at the provider (default: the registered domain)"
    )
    options: dict[OptionName, OptionValue] = Field(
        default_factory=dict, max_length=20, description="the provider's non-secret options"
    )
    ttl: Ttl = 60
    timeout: ApiTimeout = 30.0
    poll_interval: PollInterval = 2.0
    authoritative_servers: list[Endpoint] = Field(
        default_factory=list,
        max_length=10,
        description="where to confirm records (default: the zone's NS addresses)",
    )


class LexiconSettingsIn(LexiconSettings):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "provider": "lexicon",
                    "lexicon_provider": "cloudflare",
                    "zone": "example.com",
                    "credentials": {"auth_token": "••••"},
                }
            ]
        },
    )

    credentials: dict[OptionName, Annotated[SecretStr, Field(max_length=8192)]] = Field(
        default_factory=dict,
        max_length=20,
        description="write-only: the provider's secret options (auth_token, ...); credentials "
        "left out of an update keep their stored values",
    )


class LexiconSettingsOut(LexiconSettings):
    secrets_set: list[str] = Field(description="credentials that hold a value")


class _Delegation(BaseModel):
    model_config = CLOSED

    provider: Literal["cname-delegation"]
    validation_zone: Zone = Field(description="the broker's zone the tenants' CNAMEs point into")
    resolver: Host = Field(description="recursive resolver that reads the tenants' CNAMEs")
    resolver_port: Port = 53
    timeout: QueryTimeout = 5.0


InnerIn = Annotated[Rfc2136SettingsIn | LexiconSettingsIn, Field(discriminator="provider")]
InnerOut = Annotated[Rfc2136SettingsOut | LexiconSettingsOut, Field(discriminator="provider")]


class CnameDelegationSettingsIn(_Delegation):
    """`_acme-challenge.<name>` CNAMEs into a validation zone written through `inner`."""

    inner: InnerIn


class CnameDelegationSettingsOut(_Delegation):
    inner: InnerOut


DnsSettingsIn = Annotated[
    Rfc2136SettingsIn | LexiconSettingsIn | CnameDelegationSettingsIn,
    Field(discriminator="provider"),
]
DnsSettingsOut = Annotated[
    Rfc2136SettingsOut | LexiconSettingsOut | CnameDelegationSettingsOut,
    Field(discriminator="provider"),
]


class DnsProviderOption(BaseModel):
    name: str
    help: str
    secret: bool = Field(description="give it in `credentials` (stored encrypted)")
    required: bool


class DnsProviderEntry(BaseModel):
    name: str = Field(description="`lexicon_provider` value, or a native provider name")
    kind: Literal["native", "lexicon"]
    available: bool = Field(description="false: this deployment lacks the provider's packages")
    options: list[DnsProviderOption]


class DnsProviderList(BaseModel):
    providers: list[DnsProviderEntry]


class DnsCheckStep(BaseModel):
    step: Literal["settings", "credentials", "zone", "create", "visible", "delete"]
    ok: bool
    detail: str


class DnsCheckReport(BaseModel):
    ok: bool
    provider: str
    record: str | None = Field(description="the test TXT name, under _acme-challenge")
    steps: list[DnsCheckStep]


class DnsCheckRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "www.example.com"}]}
    )

    name: Zone | None = Field(
        default=None,
        description="a name in the zone to test under (default: the configured zone or the "
        "organization's first allowed domain)",
    )
