"""One Settings object for the whole service, read from CERTBROKER_* variables and `.env`."""

from __future__ import annotations

import base64
from functools import cached_property
from typing import Literal

from pydantic import (
    BaseModel,
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

# Well-known development values. Production refuses to start while any of them is in use.
DEV_DATA_KEY = base64.b64encode(b"certbroker-development-key-32by!").decode()
DEV_SECRETS = {DEV_DATA_KEY}


class ExternalIdp(BaseModel):
    """An external identity provider whose JWT access tokens the broker also accepts."""

    issuer: str
    jwks_url: str
    audience: str
    tenant_claim: str = "tenant"
    scope_claim: str = "scope"
    algorithms: list[str] = ["RS256", "ES256"]
    # Sign-in to the dashboard through this IdP (authorization code with PKCE, a public client):
    # all three set, or none.
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    dashboard_client_id: str | None = None
    dashboard_scope: str = "openid"
    display_name: str | None = None

    @model_validator(mode="after")
    def _dashboard_sign_in_complete(self) -> ExternalIdp:
        parts = (self.authorization_endpoint, self.token_endpoint, self.dashboard_client_id)
        if any(parts) and not all(parts):
            raise ValueError(
                "dashboard sign-in needs authorization_endpoint, token_endpoint and "
                "dashboard_client_id together"
            )
        return self

    @property
    def offers_dashboard_sign_in(self) -> bool:
        return self.dashboard_client_id is not None


class AuthSettings(BaseModel):
    issuer: str = "http://127.0.0.1:8000"
    audience: str = "certbroker"
    access_token_ttl: int = Field(default=900, ge=30, le=86400)
    signing_key_rotation_days: int = Field(default=30, ge=1)
    external_idps: list[ExternalIdp] = []
    jwks_cache_seconds: int = 300


class JobSettings(BaseModel):
    """The job system's clocks, which must agree with each other (checked at start-up).

    A running job holds a database lease of `lease_seconds`, renewed every `heartbeat_seconds`
    while its worker lives, so a dead worker's claims expire within seconds and any worker's
    reconciler re-stages them. arq cuts an execution off after `job_timeout_seconds`, which is
    longer than the longest single CA call (`ca_call_timeout_seconds`). On SIGTERM a worker
    takes no more work, lets what it holds finish for up to `shutdown_grace_seconds`, then hands
    the rest back.
    """

    queue_name: str = "certbroker:queue"
    max_attempts: int = 20
    # Every worker looks for lost work this often (safe to run concurrently).
    reconcile_interval_seconds: float = Field(default=2.0, gt=0, le=300)
    # A queued job whose Redis entry vanished (or that a worker took from Redis and died before
    # claiming) is re-enqueued after this long past its run time and its hand-over to Redis.
    stale_after_seconds: float = Field(default=5.0, gt=0)
    relay_batch: int = 100
    lease_seconds: float = Field(default=8.0, gt=0)
    heartbeat_seconds: float = Field(default=2.0, gt=0)
    job_timeout_seconds: float = Field(default=300.0, gt=0)
    ca_call_timeout_seconds: float = Field(default=30.0, gt=0)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    # A running job holds at most one database connection, and only while it reads or
    # commits a step (never while it waits for a CA; the ACME account store and the HTTP-01
    # responder take theirs when the job holds none), so this plus the relay, heartbeat,
    # reconciler and periodic tick must fit in the pool (30, app/db.py). At 50, when a job
    # could hold two, the jobs starved each other of connections (30 s pool timeouts) during a
    # DV burst.
    max_concurrent_jobs: int = Field(default=24, ge=1, le=1000)
    # The periodic schedules (renewals, expiry checks, inventory sync). The reconciler always
    # runs; tests switch the schedules off and drive those functions with their own clock.
    schedules_enabled: bool = True

    @model_validator(mode="after")
    def _clocks_agree(self) -> JobSettings:
        if self.heartbeat_seconds * 2 >= self.lease_seconds:
            raise ValueError("jobs.lease_seconds must be more than twice jobs.heartbeat_seconds")
        if self.ca_call_timeout_seconds >= self.job_timeout_seconds:
            raise ValueError(
                "jobs.job_timeout_seconds must be longer than jobs.ca_call_timeout_seconds"
            )
        return self


class WebhookSettings(BaseModel):
    # Receivers must be public https endpoints unless the deployment says otherwise.
    allow_http: bool = False
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Waits between attempts; the last one repeats until the window closes, then it failed.
    retry_schedule_seconds: list[float] = Field(
        default=[5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800], min_length=1
    )
    retry_window_seconds: float = Field(default=86400, gt=0)


class EgressSettings(BaseModel):
    """Where the broker may connect on a tenant's behalf (CERTBROKER_EGRESS__*): CA URLs, DNS
    servers, webhooks. Only operators widen it; the defaults suit a public deployment."""

    # CA endpoints organizations may name (shell patterns on the host name).
    ca_host_allowlist: list[str] = [
        "cert-manager.com",
        "*.cert-manager.com",
        "*.sectigo.com",
        "sectigo.com",
    ]
    # CA URLs are https on port 443 unless these say otherwise (the sandbox's simulators).
    ca_allow_http: bool = False
    ca_any_port: bool = False
    # RFC 1918 and unique-local (fc00::/7) targets, for deployments whose receivers are internal.
    allow_private_networks: bool = False
    # Exceptions the operator grants by address, e.g. ["127.0.0.1/32"] for local simulators.
    # They match the address as resolved (an IPv6 form embedding an allowed IPv4 does not).
    allowed_networks: list[IPvAnyNetwork] = []
    # The DNS server ("address:port") target names are resolved with; unset: the system's.
    resolver: str | None = Field(default=None, pattern=r"^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$")
    # How long a name may take to resolve before the connection is refused as unresolved.
    resolve_timeout_seconds: float = Field(default=5.0, gt=0, le=30)


class LifecycleSettings(BaseModel):
    """Renewal scheduling and expiry alerts (app/lifecycle)."""

    # How often the renewal scheduler and the expiry check run.
    check_interval_seconds: int = Field(default=300, ge=1, le=86400)
    # Default renewal window when a certificate names none: the larger of these two.
    renew_before_days: int = Field(default=30, ge=1, le=365)
    renew_share: float = Field(default=1 / 3, gt=0, lt=1)
    # How often ACME certificates ask the CA's renewalInfo (ARI) for its window.
    ari_recheck_hours: float = Field(default=24, gt=0)
    # Failed renewals are retried with backoff this many times, then wait for a person.
    renewal_max_attempts: int = Field(default=8, ge=1)
    renewal_retry_seconds: float = Field(default=300, gt=0)
    renewal_retry_cap_seconds: float = Field(default=6 * 3600, gt=0)
    batch_size: int = Field(default=200, ge=1, le=5000)


class InventorySettings(BaseModel):
    # How often the cron queues an SCM inventory sync for every tenant; 0 turns the cron off.
    sync_interval_minutes: int = Field(default=60, ge=0, le=1440)
    # /metrics carries one expiry series per issued certificate, soonest first, up to this many.
    expiry_gauge_limit: int = Field(default=10000, ge=0)


class LimitSettings(BaseModel):
    """What one client may send (CERTBROKER_LIMITS__*)."""

    # Request bodies over this many bytes are refused with 413 before they are parsed.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Failed client authentications at /oauth/token, per minute (token buckets in Redis):
    # per client id, so no one guesses a client's secret, and per source address.
    token_failures_per_client: int = Field(default=10, ge=1)
    token_failures_per_address: int = Field(default=30, ge=1)


class AcmeServerSettings(BaseModel):
    """The broker's own ACME directories (app/acme_server), CERTBROKER_ACME_SERVER__*."""

    # A nonce is good for one request within this many seconds (kept in Redis).
    nonce_ttl_seconds: int = Field(default=3600, ge=10, le=86400)
    # What a client is told to wait between polls of an order, authorization or challenge.
    retry_after_seconds: int = Field(default=2, ge=1, le=3600)
    # How often an ACME client should ask again for a certificate's renewal window (ARI).
    ari_retry_after_seconds: int = Field(default=21600, ge=60)
    order_lifetime_hours: int = Field(default=168, ge=1, le=24 * 30)
    # Where the broker fetches HTTP-01 answers (RFC 8555 says 80; tests move it) and which
    # DNS servers ("host:port") answer its A and TXT lookups; empty = the system's resolver.
    http01_port: int = Field(default=80, ge=1, le=65535)
    resolvers: list[str] = []
    validation_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    terms_of_service_url: str | None = None
    # Signed requests a minute per EAB key (all its accounts together), a token bucket in Redis
    # shared by every API process; rateLimited with Retry-After beyond it. 0 = off.
    requests_per_minute: int = Field(default=1200, ge=0)


class DnsCheckSettings(BaseModel):
    """Bounds on DNS work the API does inside a request (CERTBROKER_DNS__*)."""

    # A settings check or an order's CNAME preflight gives up after this long.
    check_timeout_seconds: float = Field(default=30.0, gt=0, le=120)
    # DNS checks one tenant may run at once across every API process (Redis); more get 429.
    checks_per_tenant: int = Field(default=2, ge=1, le=50)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CERTBROKER_",
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
    )

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/certbroker.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    # AES-256-GCM data-encryption keys: the active key id and every key by id (base64, 32 bytes).
    # Old ids stay listed so rows written under them still decrypt after a rotation.
    data_key_id: str = "dev"
    data_keys: dict[str, SecretStr] = {"dev": SecretStr(DEV_DATA_KEY)}
    auth: AuthSettings = AuthSettings()
    jobs: JobSettings = JobSettings()
    webhooks: WebhookSettings = WebhookSettings()
    egress: EgressSettings = EgressSettings()
    inventory: InventorySettings = InventorySettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    limits: LimitSettings = LimitSettings()
    acme_server: AcmeServerSettings = AcmeServerSettings()
    dns: DnsCheckSettings = DnsCheckSettings()
    sandbox_mode: bool = False
    # Also write HTTP-01 tokens under <dir>/.well-known/acme-challenge/ for a web server that
    # fronts the validated names; the API answers them from the database either way. A
    # deployment setting, not an organization's: tenants must not choose where files go.
    acme_http01_webroot: str | None = None
    # Per API client on /v1, a token bucket shared by every API process; 0 = off.
    rate_limit_per_minute: int = Field(default=1200, ge=0)
    metrics_public: bool = False  # False: /metrics needs a platform:admin token
    # The worker serves its own counters here (unauthenticated) when a port is set.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"

    @field_validator("data_keys")
    @classmethod
    def _keys_are_256_bit(cls, keys: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key_id, key in keys.items():
            try:
                raw = base64.b64decode(key.get_secret_value(), validate=True)
            except ValueError:
                raise ValueError(f"data key {key_id!r} is not valid base64") from None
            if len(raw) != 32:
                raise ValueError(f"data key {key_id!r} must decode to 32 bytes, not {len(raw)}")
        return keys

    @model_validator(mode="after")
    def _active_key_exists(self) -> Settings:
        if self.data_key_id not in self.data_keys:
            raise ValueError(f"data_key_id {self.data_key_id!r} is not among data_keys")
        return self

    @model_validator(mode="after")
    def _production_refuses_defaults(self) -> Settings:
        if self.env != "production":
            return self
        problems = [
            f"CERTBROKER_DATA_KEYS[{key_id!r}] is the public development key"
            for key_id, key in self.data_keys.items()
            if key.get_secret_value() in DEV_SECRETS
        ]
        if self.database_url.startswith("sqlite"):
            problems.append("CERTBROKER_DATABASE_URL points at SQLite; production needs PostgreSQL")
        if self.auth.issuer.startswith("http://127.0.0.1"):
            problems.append("CERTBROKER_AUTH__ISSUER is still the development default")
        problems += _sandbox_conveniences(self)
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

    @cached_property
    def data_key_bytes(self) -> dict[str, bytes]:
        return {k: base64.b64decode(v.get_secret_value()) for k, v in self.data_keys.items()}


def _sandbox_conveniences(settings: Settings) -> list[str]:
    """What only the sandbox may do: serve simulators, reach loopback or link-local addresses,
    talk to a CA over plain http."""
    from app.egress.addresses import local_only_overlap

    problems = []
    if settings.sandbox_mode:
        problems.append("CERTBROKER_SANDBOX_MODE is on")
    if settings.egress.ca_allow_http:
        problems.append("CERTBROKER_EGRESS__CA_ALLOW_HTTP lets CA credentials travel unencrypted")
    for network in settings.egress.allowed_networks:
        if local_only_overlap(network):
            problems.append(
                f"CERTBROKER_EGRESS__ALLOWED_NETWORKS includes {network}, a loopback, "
                "link-local or unspecified range"
            )
    return problems
