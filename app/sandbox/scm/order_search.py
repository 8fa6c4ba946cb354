"""Order search for GET/HEAD /ssl/v1: SCM's list filters over the simulator's orders."""

from __future__ import annotations

from app.sandbox.scm.lifecycle import refresh
from app.sandbox.scm.records import Order
from app.sandbox.scm.store import ScmStore

MAX_PAGE = 200
# Free-text filters match a case-insensitive substring, so a client can find its own orders by a
# unique marker placed in `comments` or `externalRequester`.
_TEXT_FILTERS = {
    "commonName": lambda o: o.common_name,
    "externalRequester": lambda o: o.external_requester,
    "comments": lambda o: o.comments,
    "requester": lambda o: o.requester,
}
_EXACT_FILTERS = {
    "status": lambda o: o.status.lower(),
    "orgId": lambda o: str(o.org_id),
    "sslTypeId": lambda o: str(o.cert_type_id),
    "requestedVia": lambda o: o.requested_via.lower(),
    "keyAlgorithm": lambda o: o.key_type.split(" - ")[0].lower(),
}


def _normalised_serial(value: str) -> str:
    return value.replace(":", "").lower().lstrip("0")


def _matches(order: Order, params: dict[str, str]) -> bool:
    for name, field in _TEXT_FILTERS.items():
        if name in params and params[name].lower() not in field(order).lower():
            return False
    for name, field in _EXACT_FILTERS.items():
        if name in params and params[name].lower() != field(order):
            return False
    if "subjectAlternativeName" in params:
        wanted = params["subjectAlternativeName"].lower()
        if not any(wanted in name for name in [order.common_name, *order.sans]):
            return False
    serial = params.get("serialNumber")
    return serial is None or _normalised_serial(serial) == order.serial_hex.lstrip("0")


def search(store: ScmStore, query: dict[str, str]) -> list[Order]:
    """Matching orders by ascending sslId; blank parameters are ignored."""
    params = {key: value for key, value in query.items() if value != ""}
    orders = [refresh(order, store) for order in store.saved.orders.values()]
    return sorted((o for o in orders if _matches(o, params)), key=lambda o: o.id)
