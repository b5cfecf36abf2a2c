"""An independent line-protocol parser, written from the spec, to check what the agent encodes.

https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/ : in measurements
commas and spaces are escaped; in tag keys, tag values and field keys commas, equals signs
and spaces; a backslash escapes a backslash. Anything else after a backslash stays as is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Point:
    """One parsed line."""

    measurement: str
    tags: dict[str, str]
    fields: dict[str, float | bool]
    timestamp: int


def _split(text: str, separator: str, limit: int = -1) -> list[str]:
    """Split on unescaped ``separator``, keeping escapes for the next stage."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if char == separator and (limit < 0 or len(parts) < limit):
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(text: str, special: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in special + "\\":
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _value(text: str) -> float | bool:
    if text in ("true", "t", "T", "True", "TRUE"):
        return True
    if text in ("false", "f", "F", "False", "FALSE"):
        return False
    if text.endswith("i"):
        raise ValueError(f"integer field {text!r}: the agent writes floats only")
    return float(text)


def parse(line: str) -> Point:
    """Parse one line; raise ValueError if it is not valid line protocol."""
    if "\n" in line:
        raise ValueError("a line may not contain a newline")
    series, fields, timestamp = _split(line, " ")
    if not fields:
        raise ValueError("no fields")
    head, *tag_parts = _split(series, ",")
    tags = {}
    for part in tag_parts:
        key, value = _split(part, "=", 1)
        if not key or not value:
            raise ValueError(f"empty tag key or value in {part!r}")
        tags[_unescape(key, ",= ")] = _unescape(value, ",= ")
    parsed = {}
    for part in _split(fields, ","):
        key, value = _split(part, "=", 1)
        parsed[_unescape(key, ",= ")] = _value(value)
    return Point(_unescape(head, ", "), tags, parsed, int(timestamp))
