"""InfluxDB line protocol: escaping and value formatting, nothing else.

Reference: https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/
Stores that speak the protocol silently skip malformed lines (VictoriaMetrics answers 204),
so everything the agent writes passes through these functions.
"""

from __future__ import annotations

import math

_MEASUREMENT = str.maketrans({",": "\\,", " ": "\\ ", "\\": "\\\\", "\n": "\\n", "\r": "\\r"})
_KEY = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", "\\": "\\\\", "\n": "\\n", "\r": "\\r"})


def escape_measurement(name: str) -> str:
    """Escape a measurement name (commas and spaces are special)."""
    return name.translate(_MEASUREMENT)


def escape_key(text: str) -> str:
    """Escape a tag key, tag value or field key (commas, equals signs and spaces)."""
    return text.translate(_KEY)


def series_prefix(measurement: str, tags: dict[str, str]) -> str:
    """``measurement,tag=value,...`` with tags sorted by key and empty values left out.

    Sorted tags are what InfluxDB stores anyway; sending them sorted spares it the work.
    """
    parts = [escape_measurement(measurement)]
    for key in sorted(tags):
        value = tags[key]
        if value != "":
            parts.append(f"{escape_key(key)}={escape_key(value)}")
    return ",".join(parts)


def format_value(value: float | int | bool) -> str | None:
    """A field value: booleans as ``true``/``false``, every number as a float.

    Numbers are always floats so that a field never changes type between polls (InfluxDB
    rejects a point whose field type differs from what the series already holds).
    Returns None for NaN and infinities, which line protocol cannot carry.
    """
    if value is True:
        return "true"
    if value is False:
        return "false"
    number = float(value)
    if math.isfinite(number):
        return repr(number)
    return None
