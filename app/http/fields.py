"""Bounded field types the /v1 schemas share, so no single field can carry megabytes.

The body limit (app/http/body_limit.py) caps a whole request; these cap each list, map and
string within it, and say so in the published schema.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

ObjectId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
DnsName = Annotated[str, StringConstraints(min_length=1, max_length=253)]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=200)]  # a client id or sub
Email = Annotated[str, StringConstraints(min_length=3, max_length=254)]
Pem = Annotated[str, StringConstraints(min_length=1, max_length=65536)]
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=63)]
LabelValue = Annotated[str, StringConstraints(max_length=256)]
Labels = Annotated[
    dict[LabelKey, LabelValue],
    Field(max_length=32, description="up to 32 labels; keys up to 63 characters, values 256"),
]
MAX_ALLOWED_DOMAINS = 500
