"""What the simulator remembers: orders, domains, ACME accounts, counters; all JSON-serialisable."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Order(BaseModel):
    """One SSL certificate record (an sslId). Timestamps are epoch seconds."""

    id: int
    renew_id: str
    order_number: int
    org_id: int
    cert_type_id: int
    term: int
    common_name: str
    sans: list[str]
    csr_pem: str
    spki_sha256: str
    key_type: str  # "RSA - 2048" / "EC - P-256"
    requester: str
    requested_via: str = "Web API"
    comments: str = ""
    external_requester: str = ""
    custom_fields: list[dict[str, str]] = Field(default_factory=list)
    dcv_mode: str = ""
    status: str = "Requested"
    requested_at: float
    approved_at: float | None = None
    applied_at: float | None = None
    issued_at: float | None = None
    declined_at: float | None = None
    revoked_at: float | None = None
    replaced_at: float | None = None
    renewed_at: float | None = None
    approver: str = ""
    approval_message: str = ""
    decline_message: str = ""
    revoke_reason: str = ""
    revoke_reason_code: int | None = None
    cert_pem: str = ""
    serial_hex: str = ""  # lowercase, no colons
    not_after: float | None = None
    forced_stuck: bool = False  # set by /__sandbox/orders/{id}/state
    locations: dict[int, dict[str, str]] = Field(default_factory=dict)  # id -> details


class DomainRecord(BaseModel):
    id: int
    name: str
    description: str = ""
    active: bool = True
    delegations: list[dict] = Field(default_factory=list)
    # DCV state of this domain.
    dcv_status: str = "NOT_VALIDATED"  # VALIDATED / NOT_VALIDATED; EXPIRED is derived
    dcv_order_status: str = "NOT_INITIATED"
    dcv_method: str = ""  # the method that validated it
    dcv_order_method: str = ""  # the method of the current order
    dcv_token: str = ""  # T: 32 hex
    dcv_hash: str = ""  # H: 64 hex
    dcv_email: str = ""
    dcv_submitted_at: float | None = None
    dcv_order_backend_id: str = ""
    validated_at: float | None = None
    expires_at: float | None = None


class AcmeAccount(BaseModel):
    id: int
    name: str
    acme_server: str
    organization_id: int
    cert_validation_type: str
    mac_id: str
    mac_key: str
    status: str = "pending"
    contacts: str = ""
    ev_details: dict = Field(default_factory=dict)
    domains: list[str] = Field(default_factory=list)


class Counters(BaseModel):
    enrollments_by_key: dict[str, int] = Field(default_factory=dict)  # SPKI SHA-256 hex -> n
    calls_by_path: dict[str, int] = Field(default_factory=dict)  # "METHOD /path" -> n


class SavedState(BaseModel):
    """Everything persisted to the state file, in one JSON document."""

    ca: dict = Field(default_factory=dict)
    token_secret: str = ""
    next_ids: dict[str, int] = Field(default_factory=dict)
    orders: dict[int, Order] = Field(default_factory=dict)
    domains: dict[int, DomainRecord] = Field(default_factory=dict)
    acme_accounts: dict[int, AcmeAccount] = Field(default_factory=dict)
    counters: Counters = Field(default_factory=Counters)
