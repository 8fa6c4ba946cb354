"""The simulator's live state: saved records, the CA, counters, and id allocation."""

from __future__ import annotations

import secrets
import time

from app.sandbox.scm.ca import CertificateAuthority
from app.sandbox.scm.catalog import SEED_DOMAINS
from app.sandbox.scm.config import ScmSandboxConfig
from app.sandbox.scm.faults import Faults
from app.sandbox.scm.persistence import StateFile
from app.sandbox.scm.records import DomainRecord, SavedState

# Starting points chosen so ids look like a real tenant's, not like 1, 2, 3.
FIRST_IDS = {
    "order": 10001,
    "order_number": 7344326,
    "domain": 396,
    "acme": 77,
    "dcv": 100500,
    "location": 501,
}


class ScmStore:
    """Owned by one app instance; only touched from its event loop, so no locks are needed."""

    def __init__(self, config: ScmSandboxConfig) -> None:
        self.config = config
        self.behaviour = config.behaviour.model_copy(deep=True)
        self.faults = Faults.model_validate(config.initial_faults)
        self.state_file = StateFile(config.state_file) if config.state_file else None
        loaded = self.state_file.load() if self.state_file else None
        if loaded and loaded.ca:
            self.saved = loaded
            self.ca = CertificateAuthority.from_dict(loaded.ca)
        else:
            self.ca = CertificateAuthority.generate(config.key_algorithm)
            self.saved = SavedState(ca=self.ca.to_dict(), token_secret=secrets.token_hex(32))
            self.seed()
        self.revision = 0
        self.saved_revision = -1 if self.state_file else 0

    def seed(self) -> None:
        now = time.time()
        for name, (validated, method, org_ids) in SEED_DOMAINS.items():
            domain = DomainRecord(
                id=self.next_id("domain"),
                name=name,
                description="seeded",
                delegations=[
                    {"orgId": org_id, "certTypes": ["SSL"], "status": "ACTIVE"}
                    for org_id in org_ids
                ],
            )
            if validated:
                domain.dcv_status = "VALIDATED"
                domain.dcv_method = method
                domain.validated_at = now
                domain.expires_at = now + self.behaviour.dcv_expiry_seconds
            self.saved.domains[domain.id] = domain

    def reset(self) -> None:
        """Forget orders, domains, accounts, counters and faults; keep the CA and token secret."""
        self.saved = SavedState(ca=self.saved.ca, token_secret=self.saved.token_secret)
        self.faults = Faults()
        self.behaviour = self.config.behaviour.model_copy(deep=True)
        self.seed()
        self.changed()

    def next_id(self, kind: str) -> int:
        value = self.saved.next_ids.get(kind, FIRST_IDS[kind])
        self.saved.next_ids[kind] = value + 1
        return value

    def changed(self) -> None:
        self.revision += 1

    async def save_if_changed(self) -> None:
        if self.state_file and self.revision != self.saved_revision:
            self.saved_revision = self.revision
            await self.state_file.save(self.saved)

    def count_call(self, method: str, path: str) -> None:
        key = f"{method} {path}"
        calls = self.saved.counters.calls_by_path
        calls[key] = calls.get(key, 0) + 1
