"""Content negotiation for downloads: the registered media type, or a generic one on request.

Generated clients know JSON, `text/*` and `application/octet-stream` only; offering those
alongside the registered types (RFC 8555's PEM chain, PKCS#12) lets them download without
special configuration, while a client that asks for nothing gets the registered type.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request


def _ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for item in accept.split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        if not media_range:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((media_range.lower(), quality))
    return ranges


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> float:
    """RFC 9110 §12.5.1: the most specific range that matches decides."""
    main = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for media_range, quality in ranges:
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{main}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        best = max(best, (specificity, quality), key=lambda pair: pair[0])
    return best[1]


def negotiate(request: Request, offered: tuple[str, ...]) -> str:
    """The offered type the client prefers; the first (the registered one) when it states no
    preference or accepts none of them (RFC 9110 lets a server disregard Accept)."""
    ranges = _ranges(request.headers.get("accept", ""))
    if not ranges:
        return offered[0]
    chosen, chosen_quality = offered[0], 0.0
    for media_type in offered:
        quality = _quality(media_type, ranges)
        if quality > chosen_quality:
            chosen, chosen_quality = media_type, quality
    return chosen


def download_content(offered: tuple[str, ...], schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI `content` of a negotiated download: every offered type, one schema."""
    return {media_type: {"schema": schema} for media_type in offered}
