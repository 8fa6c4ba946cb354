"""Sandbox-only controls under /__sandbox: CA material, faults, settings, counters, forced states.

No SCM authentication here: these paths do not exist on the real service, and a client under
test never calls them; only test code does.
"""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ValidationError

from app.sandbox.scm.auth import Store
from app.sandbox.scm.domain_validation import find_domain
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.faults import Faults
from app.sandbox.scm.lifecycle import current_order, issue

router = APIRouter(prefix="/__sandbox")


@router.get("/health")
async def health() -> dict:
    return {"ok": True}


@router.get("/ca")
async def ca_certificates(store: Store) -> dict:
    return {
        "root": store.ca.root.cert_pem,
        "intermediate": store.ca.intermediate.cert_pem,
        "evIntermediate": store.ca.ev_intermediate.cert_pem,
        "clientCa": store.ca.client_ca.cert_pem,
    }


@router.get("/ca/root.pem", response_class=PlainTextResponse)
async def root_pem(store: Store) -> str:
    return store.ca.root.cert_pem


@router.get("/faults")
async def get_faults(store: Store) -> Faults:
    return store.faults


@router.put("/faults")
async def replace_faults(faults: Faults, store: Store) -> Faults:
    store.faults = faults
    return store.faults


def _merged(model: BaseModel, changes: dict):
    try:
        return type(model).model_validate(model.model_dump() | changes)
    except ValidationError as error:
        raise HTTPException(422, str(error)) from None


@router.patch("/faults")
async def merge_faults(changes: dict, store: Store) -> Faults:
    store.faults = _merged(store.faults, changes)
    return store.faults


@router.delete("/faults", status_code=204)
async def clear_faults(store: Store) -> None:
    store.faults = Faults()


@router.get("/settings")
async def get_settings(store: Store) -> dict:
    return store.behaviour.model_dump()


@router.patch("/settings")
async def merge_settings(changes: dict, store: Store) -> dict:
    store.behaviour = _merged(store.behaviour, changes)
    return store.behaviour.model_dump()


@router.get("/counters")
async def counters(store: Store) -> dict:
    counted = store.saved.counters
    return {
        "enrollmentsByKey": counted.enrollments_by_key,
        "callsByPath": counted.calls_by_path,
        "orders": len(store.saved.orders),
    }


@router.post("/reset", status_code=204)
async def reset(store: Store) -> None:
    store.reset()


class ForcedState(BaseModel):
    status: Literal["Requested", "Applied", "Issued", "Rejected", "Declined", "Expired", "Invalid"]


@router.put("/orders/{ssl_id}/state")
async def force_order_state(ssl_id: int, body: ForcedState, store: Store) -> dict:
    """Issued issues now; any other status sticks until forced again."""
    order = current_order(store, ssl_id)
    order.forced_stuck = body.status != "Issued"
    if body.status == "Issued":
        issue(order, store, at=time.time())
    else:
        order.status = body.status
        if body.status == "Applied":
            order.applied_at = time.time()
    store.changed()
    return {"sslId": order.id, "status": order.status}


class ForcedDcv(BaseModel):
    status: Literal["VALIDATED", "NOT_VALIDATED", "EXPIRED"]


@router.put("/domains/{name}/dcv")
async def force_dcv(name: str, body: ForcedDcv, store: Store) -> dict:
    domain = find_domain(store, name)
    if domain is None:
        raise ScmError(-727, f"Domain {name} does not exist.", 404)
    now = time.time()
    domain.dcv_order_status = "NOT_INITIATED"
    domain.dcv_status = "NOT_VALIDATED" if body.status == "NOT_VALIDATED" else "VALIDATED"
    domain.validated_at = now - 2 if body.status == "EXPIRED" else now
    domain.expires_at = (
        now - 1 if body.status == "EXPIRED" else now + store.behaviour.dcv_expiry_seconds
    )
    domain.dcv_method = domain.dcv_method or "CNAME"
    store.changed()
    return {"domain": domain.name, "status": body.status}


@router.get("/acme/eab")
async def eab_credentials(store: Store) -> list[dict]:
    """EAB pairs of every SCM ACME account, for configuring a real ACME server under test."""
    return [
        {
            "id": a.id,
            "name": a.name,
            "macId": a.mac_id,
            "macKey": a.mac_key,
            "organizationId": a.organization_id,
            "acmeServer": a.acme_server,
            "certValidationType": a.cert_validation_type,
            "status": a.status,
        }
        for a in store.saved.acme_accounts.values()
    ]


@router.get("/acme/eab/pebble")
async def eab_for_pebble(store: Store) -> dict:
    """The same pairs shaped as pebble's `externalAccountMACKeys` config section."""
    return {
        "externalAccountMACKeys": {a.mac_id: a.mac_key for a in store.saved.acme_accounts.values()}
    }


class AccountStatus(BaseModel):
    status: Literal["pending", "valid", "deactivated"]


@router.put("/acme/accounts/{account_id}/status")
async def set_acme_account_status(account_id: int, body: AccountStatus, store: Store) -> dict:
    account = store.saved.acme_accounts.get(account_id)
    if account is None:
        raise ScmError(-1, f"ACME account {account_id} not found.", 404)
    account.status = body.status
    store.changed()
    return {"id": account.id, "status": account.status}


class ClientCertificateRequest(BaseModel):
    login: str = "sandbox"


@router.post("/client-certificates")
async def issue_client_certificate(body: ClientCertificateRequest, store: Store) -> dict:
    """A TLS client certificate for the /private/api (mTLS) listener."""
    pair = store.ca.issue_client_certificate(body.login)
    return {"cert": pair.cert_pem, "key": pair.key_pem, "ca": store.ca.client_ca.cert_pem}
