"""What the Windows probes share: reading a PowerShell `ConvertTo-Json` output, its dates and its
strings, without ever raising on what a host sends."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_INPUT = 4 * 1024 * 1024  # characters; a larger output is not what these commands print
MAX_TEXT = 256  # one string field of a fact, after control characters are removed

# "/Date(1577836800000)/" and "/Date(1577836800000+0700)/": milliseconds since 1970 UTC (the
# offset only says which zone the serialiser was in; the number is UTC already).
_MS_DATE = re.compile(r"^/Date\((-?\d{1,15})(?:[+-]\d{4})?\)/$")
# CIM datetime: yyyymmddHHMMSS.mmmmmm+UUU (UUU: minutes east of UTC).
_CIM_DATE = re.compile(r"^(\d{14})\.\d{6}([+-])(\d{3})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def load_json(text: str) -> tuple[Any, str]:
    """The JSON value of an output, and a status: ok, empty, unparsed. A UTF-8 BOM and blank
    lines around the value are tolerated; anything else is `unparsed`."""
    if len(text) > MAX_INPUT:
        return None, "unparsed"
    text = text.lstrip("\ufeff").strip()
    if not text:
        return None, "empty"
    try:
        return json.loads(text), "ok"
    except (ValueError, RecursionError):
        return None, "unparsed"


def load_items(text: str) -> tuple[list[Any], str]:
    """The items of an output that lists objects: ConvertTo-Json writes a list, or a single object
    when there is one item. Anything else JSON is `unparsed`."""
    data, status = load_json(text)
    if status == "ok" and isinstance(data, dict):
        return [data], status
    if status == "ok" and not isinstance(data, list):
        return [], "unparsed"
    return data if status == "ok" else [], status


def clean_text(value: Any) -> str | None:
    """A display-safe string: control and direction-changing characters removed, capped."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = _CONTROL.sub("", str(value)).strip()
    return text[:MAX_TEXT] or None


def json_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        return int(value)
    return None


def parse_datetime(value: Any) -> int | None:
    """Epoch seconds of a date as ConvertTo-Json writes it: "/Date(ms)/" (Windows PowerShell
    5.1), {"value": "/Date(ms)/", "DateTime": ...} (a DateTime with its display note), a CIM
    datetime string, or ISO 8601 (PowerShell 7). None for anything else, and for a date outside
    1990-2100 (an unset date, a clock far off)."""
    if isinstance(value, dict):
        value = value.get("value")
    if not isinstance(value, str):
        return None
    value = value.strip()
    try:
        if m := _MS_DATE.match(value):
            seconds = int(m.group(1)) // 1000
        elif m := _CIM_DATE.match(value):
            offset = timedelta(minutes=int(m.group(3)) * (1 if m.group(2) == "+" else -1))
            local = datetime.strptime(m.group(1), "%Y%m%d%H%M%S")
            seconds = int((local - offset).replace(tzinfo=UTC).timestamp())
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})?", value):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            # no zone (a DateTime of Kind Unspecified): read as UTC, at most hours off
            seconds = int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return seconds if 631152000 <= seconds < 4102444800 else None  # 1990-01-01 .. 2100-01-01
