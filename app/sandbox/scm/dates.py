"""Date rendering for `?dateFormat=`: SCM's named formats (US by default) or a Java pattern."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import Query

from app.sandbox.scm.errors import ScmError

NAMED_FORMATS = {
    "US": "MM/dd/yyyy",
    "EU": "dd.MM.yyyy",
    "UK": "dd/MM/yyyy",
    "JP": "yyyy/MM/dd",
    "ISO": "yyyy-MM-dd",
    "ISO_HMS": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
}
for _name in ("US", "EU", "UK", "JP"):
    NAMED_FORMATS[f"{_name}_HMS"] = NAMED_FORMATS[_name] + " HH:mm:ss"

_JAVA_TOKENS = {
    "yyyy": "%Y",
    "yy": "%y",
    "MM": "%m",
    "dd": "%d",
    "HH": "%H",
    "mm": "%M",
    "ss": "%S",
    "SSS": "{millis}",
}
_TOKEN = re.compile(r"'[^']*'|yyyy|yy|MM|dd|HH|mm|ss|SSS|[A-Za-z]")


def _to_strftime(pattern: str) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith("'"):
            return token[1:-1].replace("%", "%%")
        if token in _JAVA_TOKENS:
            return _JAVA_TOKENS[token]
        raise ScmError(-1601, f"Unsupported date format: {pattern}")

    return _TOKEN.sub(replace, pattern)


class DateFormatter:
    def __init__(self, date_format: str | None) -> None:
        pattern = NAMED_FORMATS.get((date_format or "US").upper(), date_format or "")
        self._strftime = _to_strftime(pattern)

    def __call__(self, timestamp: float | None) -> str | None:
        if timestamp is None:
            return None
        moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
        text = moment.strftime(self._strftime)
        return text.replace("{millis}", f"{moment.microsecond // 1000:03d}")


def date_formatter(date_format: Annotated[str | None, Query(alias="dateFormat")] = None):
    return DateFormatter(date_format)


def iso_day(timestamp: float | None) -> str | None:
    """DCV and domain dates: yyyy-MM-dd."""
    return DateFormatter("ISO")(timestamp)


def iso_instant(timestamp: float | None) -> str | None:
    return DateFormatter("ISO_HMS")(timestamp)
