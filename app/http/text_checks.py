"""Input the API refuses whatever the field: bodies that are not JSON, and control characters.

PostgreSQL cannot store NUL in text and neither database should store the other C0/C1
controls or lone UTF-16 surrogates (they cannot even be encoded as UTF-8), so one check over
every path parameter, query parameter, JSON string and key, and form field refuses them with
a 422 naming the field, instead of a 500 from the driver. Tab, line feed and carriage return
stay allowed: PEM documents and comments carry them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from app.errors import Unprocessable

FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_DEPTH = 32  # no schema of this API nests deeper; a deeper body is an attack on the parser


def refuse_control_characters(field: str, value: str, what: str = "the value") -> None:
    found = FORBIDDEN.search(value)
    if found:
        raise Unprocessable.field(
            field,
            f"{what} contains the control character U+{ord(found.group()):04X} at position "
            f"{found.start()}; text fields accept printable characters, tab and newlines only",
            "control_character",
        )


def check_params(location: str, items: Iterable[tuple[str, Any]]) -> None:
    """Path, query or form parameters: `location` is "path", "query" or "body"."""
    for name, value in items:
        refuse_control_characters(location, name, "a parameter name")
        refuse_control_characters(f"{location}.{name}", str(value))


def parse_json_body(raw: bytes) -> Any:
    """The body as JSON, or a 422 that says it is not JSON and where it stops being JSON."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable.field(
            "body", f"the body is not UTF-8 (byte {exc.start} is invalid)", "json_invalid"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise json_syntax_error(exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:
        raise Unprocessable.field(
            "body", f"the JSON nests deeper than {MAX_DEPTH} levels", "json_invalid"
        ) from None


def json_syntax_error(message: str, line: int, column: int) -> Unprocessable:
    error = Unprocessable.field(
        "body",
        f"the body is not valid JSON: {message} at line {line}, column {column}",
        "json_invalid",
    )
    assert error.errors is not None
    error.errors[0].update(line=line, column=column)
    return error


def check_json(value: Any, location: str = "body") -> None:
    """Every string and object key in a parsed JSON document, depth-first, naming the first
    offending field (`body.labels.team`, `body.allowed_domains.3`)."""
    stack: list[tuple[Any, str, int]] = [(value, location, 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Unprocessable.field(
                where, f"the JSON nests deeper than {MAX_DEPTH} levels", "json_invalid"
            )
        if isinstance(node, str):
            refuse_control_characters(where, node)
        elif isinstance(node, dict):
            for key, item in node.items():
                refuse_control_characters(where, key, "a key")
                stack.append((item, f"{where}.{key}", depth + 1))
        elif isinstance(node, list):
            stack.extend((item, f"{where}.{index}", depth + 1) for index, item in enumerate(node))
