"""/ssl/v1/{sslId}/location: where a certificate is installed (free-form details per location)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from app.sandbox.scm.auth import Store
from app.sandbox.scm.errors import ScmError
from app.sandbox.scm.lifecycle import current_order
from app.sandbox.scm.location_header import created_location
from app.sandbox.scm.records import Order

router = APIRouter()


class LocationBody(BaseModel):
    details: dict[str, str]


def _view(location_id: int, details: dict[str, str]) -> dict:
    return {"id": location_id, "details": details}


def _location(order: Order, location_id: int) -> dict[str, str]:
    if location_id not in order.locations:
        raise ScmError(-1, f"Location {location_id} was not found.", 404)
    return order.locations[location_id]


@router.get("/{ssl_id}/location")
async def list_locations(ssl_id: int, store: Store) -> list[dict]:
    order = current_order(store, ssl_id)
    return [_view(location_id, details) for location_id, details in order.locations.items()]


@router.post("/{ssl_id}/location", status_code=201)
async def create_location(
    ssl_id: int, body: LocationBody, request: Request, store: Store
) -> Response:
    order = current_order(store, ssl_id)
    location_id = store.next_id("location")
    order.locations[location_id] = body.details
    store.changed()
    location = created_location(request, f"/ssl/v1/{ssl_id}/location", location_id)
    return Response(status_code=201, headers={"Location": location})


@router.get("/{ssl_id}/location/{location_id}")
async def get_location(ssl_id: int, location_id: int, store: Store) -> dict:
    return _view(location_id, _location(current_order(store, ssl_id), location_id))


@router.put("/{ssl_id}/location/{location_id}")
async def update_location(ssl_id: int, location_id: int, body: LocationBody, store: Store) -> dict:
    order = current_order(store, ssl_id)
    _location(order, location_id)
    order.locations[location_id] = body.details
    store.changed()
    return _view(location_id, body.details)


@router.delete("/{ssl_id}/location/{location_id}", status_code=204)
async def delete_location(ssl_id: int, location_id: int, store: Store) -> None:
    order = current_order(store, ssl_id)
    _location(order, location_id)
    del order.locations[location_id]
    store.changed()
