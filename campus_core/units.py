"""Human units in config files: durations ("10s", "5m", "1h30m") and sizes ("2GiB")."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_duration(value: object) -> float:
    """Return seconds for "250ms", "10s", "5m", "1h30m", "1d" or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError('a duration such as "10s", "5m" or "1h30m" is expected, not a boolean')
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        pos = 0
        seconds = 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos != len(text) or not text:
            raise ValueError(
                f"{value!r} is not a duration; write a number with a unit: "
                '"500ms", "10s", "5m", "1h30m", "1d"'
            )
    else:
        raise ValueError(f'a duration such as "10s" is expected, got {type(value).__name__}')
    if seconds <= 0:
        raise ValueError(f"{value!r}: a duration must be greater than zero")
    return seconds


def parse_size(value: object) -> int:
    """Return bytes for "2GiB", "500MB", "64KiB" or a bare number of bytes."""
    if isinstance(value, bool):
        raise ValueError('a size such as "2GiB" is expected, not a boolean')
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        match = _SIZE.fullmatch(value.strip())
        if not match:
            raise ValueError(
                f'{value!r} is not a size; write a number with a unit: "512MiB", "2GiB", "500MB"'
            )
        unit = (match.group(2) or "b").lower()
        size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    else:
        raise ValueError(f'a size such as "2GiB" is expected, got {type(value).__name__}')
    if size <= 0:
        raise ValueError(f"{value!r}: a size must be greater than zero")
    return size


def format_duration(seconds: float) -> str:
    """Render seconds the way a technician writes them ("10s", "1.5s", "5m")."""
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    return f"{seconds:g}s"


def format_size(size: int) -> str:
    """Render bytes with a binary unit ("2GiB", "1.5MiB")."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.3g}{unit}" if unit != "B" else f"{size}B"
        value /= 1024
    return f"{value:.3g}TiB"


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written in config as "10s", "5m", "1h30m" or a number of seconds."""

ByteSize = Annotated[int, BeforeValidator(parse_size)]
"""Bytes, written in config as "2GiB", "500MB" or a number of bytes."""
