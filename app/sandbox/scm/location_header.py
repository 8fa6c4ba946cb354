"""Absolute `Location` URLs for 201 Created answers, under whichever base path the call used."""

from __future__ import annotations

from fastapi import Request


def created_location(request: Request, collection_path: str, entity_id: int) -> str:
    """e.g. http://host/api/domain/v1/396 for a POST to http://host/api/domain/v1."""
    base = "/private/api" if request.url.path.startswith("/private/") else "/api"
    return f"{str(request.base_url).rstrip('/')}{base}{collection_path}/{entity_id}"
