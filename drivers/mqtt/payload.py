"""JSON payloads to fields: dotted paths into nested objects and arrays, type checks, scale.

A :class:`PayloadMapper` is built once per device from its config; :meth:`PayloadMapper.map`
turns one message into a timestamp and fields, or raises :class:`PayloadError` saying what
is wrong with it (not JSON, a field missing, a value of the wrong type, a bad timestamp).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from campus_core.identity import RawText
from campus_core.readings import FieldValue

FieldType = Literal["float", "int", "bool"]
TimeFormat = Literal["rfc3339", "epoch_s", "epoch_ms"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
#: Timestamps before this are a sensor without a set clock, or seconds read as milliseconds.
EARLIEST_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
#: How far ahead of the gateway's clock a sensor's clock may be.
MAX_AHEAD_MS = 86_400_000
_TRUE = frozenset({"true", "on", "1", "yes"})
_FALSE = frozenset({"false", "off", "0", "no"})


class PayloadError(Exception):
    """A message that cannot become a point; ``kind`` groups reasons for counters and logs."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def parse_path(path: str) -> tuple[str, ...]:
    """``"env.temp"`` -> ``("env", "temp")``; raise ValueError for an empty segment."""
    parts = tuple(path.split("."))
    if not path or any(p == "" for p in parts):
        raise ValueError(
            f"path {path!r} has an empty segment; write keys and array indexes "
            'separated by dots, e.g. "env.temp" or "readings.0.value"'
        )
    return parts


_MISSING = object()


def lookup(document: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path``, or ``_MISSING``; a numeric segment indexes an array."""
    value = document
    for segment in path:
        if isinstance(value, dict):
            value = value.get(segment, _MISSING)
            if value is _MISSING:
                return _MISSING
        elif isinstance(value, list) and segment.isascii() and segment.isdigit():
            index = int(segment)
            if index >= len(value):
                return _MISSING
            value = value[index]
        else:
            return _MISSING
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return "an object"


@dataclass(frozen=True, slots=True)
class FieldRule:
    """Where one field lives in the JSON and how it is converted."""

    field: str
    path: tuple[str, ...]
    type: FieldType = "float"
    scale: float = 1.0
    offset: float = 0.0
    required: bool = True

    def convert(self, value: Any) -> FieldValue:
        """The field value, or PayloadError for a value of the wrong type."""
        if self.type == "bool":
            return self._boolean(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._wrong(value, "a number")
        if self.type == "int" and not (isinstance(value, int) or float(value).is_integer()):
            raise self._wrong(value, "a whole number")
        try:
            number = float(value) * self.scale + self.offset
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self._wrong(value, "a finite number")
        return number

    def _boolean(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        raise self._wrong(value, 'true/false, 0/1 or "on"/"off"')

    def _wrong(self, value: Any, expected: str) -> PayloadError:
        return PayloadError(
            "wrong type",
            f"field {self.field}: {'.'.join(self.path)!r} is {_describe(value)}, expected {expected}",
        )


@dataclass(frozen=True, slots=True)
class TimeRule:
    """Where the message's own timestamp lives and how it is written."""

    path: tuple[str, ...]
    format: TimeFormat

    def to_ms(self, value: Any, now_ms: int) -> int:
        """Milliseconds since the epoch, or PayloadError."""
        where = ".".join(self.path)
        if self.format == "rfc3339":
            if not isinstance(value, str):
                raise PayloadError(
                    "bad timestamp",
                    f"timestamp {where!r} is {_describe(value)}, "
                    'expected an RFC 3339 string such as "2025-03-10T08:00:00Z"',
                )
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise PayloadError(
                    "bad timestamp",
                    f"timestamp {where!r} ({value[:40]!r}) is not "
                    'RFC 3339, e.g. "2025-03-10T08:00:00.123+08:00"',
                ) from None
            if moment.tzinfo is None:
                raise PayloadError(
                    "bad timestamp",
                    f"timestamp {where!r} ({value[:40]!r}) has no "
                    'UTC offset; RFC 3339 needs one ("Z" or "+08:00")',
                )
            ms = (moment - _EPOCH) // _MS
        else:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise PayloadError(
                    "bad timestamp",
                    f"timestamp {where!r} is {_describe(value)}, expected a number ({self.format})",
                )
            scaled = value * 1000 if self.format == "epoch_s" else value
            ms = round(scaled) if math.isfinite(scaled) else EARLIEST_MS * 10**9
        if ms < EARLIEST_MS or ms > now_ms + MAX_AHEAD_MS:
            raise PayloadError(
                "bad timestamp", f"timestamp {where!r} ({value!r}) is {_when(ms)}{self._hint(ms)}"
            )
        return int(ms)

    def _hint(self, ms: int) -> str:
        if self.format == "epoch_s" and ms > EARLIEST_MS * 1000:
            return '; it looks like milliseconds: format = "epoch_ms"?'
        if self.format == "epoch_ms" and 0 < ms < EARLIEST_MS and ms * 1000 >= EARLIEST_MS:
            return '; it looks like seconds: format = "epoch_s"?'
        if ms < EARLIEST_MS:
            return "; is the sensor's clock set?"
        return " (more than a day ahead of the gateway's clock)"


def _when(ms: int) -> str:
    try:
        return (_EPOCH + ms * _MS).strftime("at %Y-%m-%dT%H:%M:%SZ")
    except OverflowError:
        return "out of any calendar's range"


Stated = tuple[tuple[str, RawText], ...]
"""Identity values a payload carries, by identity key (None where the payload has none)."""


class PayloadMapper:
    """Turns one JSON message into ``(time_ms, fields)`` by the device's rules.

    ``identity`` names where the payload states who its sensor is (``("firmware",
    ("dev", "fw"))``...): :meth:`map_stating` hands those values over beside the point.
    """

    def __init__(
        self,
        fields: Sequence[FieldRule],
        timestamp: TimeRule | None = None,
        identity: Sequence[tuple[str, tuple[str, ...]]] = (),
    ) -> None:
        self.fields = tuple(fields)
        self.timestamp = timestamp
        self.identity = tuple(identity)

    def map(self, payload: bytes, arrival_ms: int) -> tuple[int, tuple[tuple[str, FieldValue], ...]]:
        """The point in a payload; raise :class:`PayloadError` if it is not one."""
        time_ms, fields, _ = self.map_stating(payload, arrival_ms)
        return time_ms, fields

    def map_stating(
        self, payload: bytes, arrival_ms: int
    ) -> tuple[int, tuple[tuple[str, FieldValue], ...], Stated]:
        """The point in a payload and the identity values it states (text or numbers only)."""
        try:
            document = json.loads(payload)
        except UnicodeDecodeError:
            raise PayloadError("not JSON", "payload is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise PayloadError(
                "not JSON", f"payload is not JSON ({exc.msg} at byte {exc.pos}): {_preview(payload)}"
            ) from None
        except RecursionError:
            raise PayloadError("not JSON", "payload nests too deeply to be a sensor reading") from None
        if not isinstance(document, dict | list):
            raise PayloadError("not JSON", f"payload is {_describe(document)}, expected a JSON object")
        values: list[tuple[str, FieldValue]] = []
        for rule in self.fields:
            value = lookup(document, rule.path)
            if value is _MISSING or value is None:
                if rule.required:
                    raise PayloadError(
                        "missing field",
                        f"field {rule.field}: no value at {'.'.join(rule.path)!r}{_keys(document)}",
                    )
                continue
            values.append((rule.field, rule.convert(value)))
        time_ms = arrival_ms
        if self.timestamp is not None:
            raw = lookup(document, self.timestamp.path)
            if raw is _MISSING or raw is None:
                raise PayloadError(
                    "bad timestamp", f"no timestamp at {'.'.join(self.timestamp.path)!r}{_keys(document)}"
                )
            time_ms = self.timestamp.to_ms(raw, arrival_ms)
        if not values:
            raise PayloadError(
                "missing field", f"none of the configured fields is in the payload{_keys(document)}"
            )
        stated = tuple((key, _statement(lookup(document, path))) for key, path in self.identity)
        return time_ms, tuple(values), stated


def _statement(value: Any) -> str | None:
    """An identity value from JSON: text, or a number written out (firmware 2.1); else nothing."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _keys(document: Any) -> str:
    if isinstance(document, dict):
        keys = list(document)[:12]
        return f" (the payload has keys: {', '.join(map(str, keys))}{', ...' if len(document) > 12 else ''})"
    return ""


def _preview(payload: bytes) -> str:
    text = payload[:60].decode("utf-8", "replace")
    return repr(text + ("..." if len(payload) > 60 else ""))
