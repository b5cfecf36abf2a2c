"""Normalisation: a driver's reading becomes one line of the city-wide schema.

Each device gets one :class:`PointEncoder`, built at config load. The series prefix
(measurement and identity tags, escaped) is built once per series and cached, so a poll
only formats its values.
"""

from __future__ import annotations

from campus_core.readings import Reading

from .lineprotocol import escape_key, format_value, series_prefix

#: Series prefixes one device may cache (table rows of a large switch stay well below).
MAX_CACHED_SERIES = 10_000


class PointEncoder:
    """Encodes the readings of one device as line protocol with millisecond timestamps."""

    def __init__(self, measurement: str, tags: dict[str, str]) -> None:
        self.measurement = measurement
        self.tags = dict(tags)
        self._prefix = series_prefix(measurement, self.tags) + " "
        self._prefixes: dict[tuple[str | None, tuple[tuple[str, str], ...]], str] = {}
        self._field_keys: dict[str, str] = {}
        self.skipped_values = 0

    def encode(self, reading: Reading) -> str | None:
        """One line for ``reading``, or None when no field has a value line protocol can carry."""
        keys = self._field_keys
        parts = []
        for name, value in reading.fields:
            text = format_value(value)
            if text is None:
                self.skipped_values += 1
                continue
            key = keys.get(name)
            if key is None:
                key = keys[name] = escape_key(name)
            parts.append(f"{key}={text}")
        if not parts:
            return None
        if reading.tags or reading.measurement:
            prefix = self._series(reading.measurement, reading.tags)
        else:
            prefix = self._prefix
        return f"{prefix}{','.join(parts)} {reading.time_ms}"

    def _series(self, measurement: str | None, tags: tuple[tuple[str, str], ...]) -> str:
        key = (measurement, tags)
        prefix = self._prefixes.get(key)
        if prefix is None:
            # The device's identity tags win over a reading's own.
            prefix = series_prefix(measurement or self.measurement, {**dict(tags), **self.tags}) + " "
            if len(self._prefixes) < MAX_CACHED_SERIES:
                self._prefixes[key] = prefix
        return prefix


def identity_tags(school: str, campus: str, device: str, tags: dict[str, str]) -> dict[str, str]:
    """The tags every point of a device carries; the schema's identity tags win over custom ones."""
    return {**tags, "school": school, "campus": campus, "device": device}
