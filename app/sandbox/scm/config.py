"""Start-up configuration of the SCM simulator and the behaviour knobs tests may change later."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Behaviour(BaseModel):
    """How the simulated SCM behaves; adjustable while running via PATCH /__sandbox/settings."""

    model_config = ConfigDict(extra="forbid")

    token_lifetime_seconds: int = Field(300, ge=1)
    # Lifecycle timing, measured from the previous transition. None means "never" (stuck).
    requested_to_applied_seconds: float | None = 0.05
    applied_to_issued_seconds: float | None = 0.2
    # The contract leaves the per-state "not ready" code open, so both are configurable;
    # `legacy_collect_pending` answers the old
    # {"code":0,"description":"Being processed by Sectigo"} instead.
    collect_pending_code_requested: int = -183
    collect_pending_code_applied: int = -1400
    legacy_collect_pending: bool = False
    # x509 and pem list the root first (as in Sectigo's documented example); x509R and pemia
    # always go leaf first. Turning this off makes x509/pem leaf-first too.
    x509_root_first: bool = True
    collect_crlf: bool = False  # PEM downloads with CRLF line ends, as some SCM answers have
    # DCV: every enrolled name must sit under a VALIDATED, unexpired domain, unless enforcement
    # is off globally or the enrolling organization (or its parent) is exempt.
    dcv_enforced: bool = True
    dcv_exempt_org_ids: list[int] = Field(default_factory=list)
    dcv_validation_seconds: float | None = 0.2  # submit -> VALIDATED; None: stays SUBMITTED
    dcv_expiry_seconds: float = 365 * 86400  # VALIDATED -> EXPIRED
    approver_may_be_requester: bool = True  # False: -1140 when the requester approves EV
    default_list_size: int = 10


class ScmSandboxConfig(BaseModel):
    """Everything the simulator needs at start-up. Credentials are the documented defaults."""

    login: str = "sandbox"
    password: str = "sandbox"
    customer_uri: str = "sandbox"
    client_id: str = "sandbox"
    client_secret: str = "sandbox"
    state_file: Path | None = None
    mtls_port: int | None = None  # also serve /private/api over mutual TLS (0: any free port)
    tls_dir: Path | None = None  # where the mTLS listener's and a client's PEM files go
    random_seed: int | None = None  # for fault rates; None: non-deterministic
    behaviour: Behaviour = Field(default_factory=Behaviour)
    initial_faults: dict = Field(default_factory=dict)  # a Faults payload applied at start
    key_algorithm: Literal["rsa", "ec"] = "rsa"  # for the simulated CA's own keys
