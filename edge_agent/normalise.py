"""Normalisation: a driver's reading becomes one line of the city-wide schema.

Each device gets one :class:`PointEncoder`, built at config load. The series prefix
(measurement and identity tags, escaped) is built once per series and cached, so a poll
only formats its values. A device sends the same fields of the same types at every poll,
so the field part is a ``%`` template too, built once per field set: one C-level
formatting of the whole tuple instead of a Python step per field (bench/ratio.py:
38 -> 21 us for 100 integer fields).
"""

from __future__ import annotations

import math

from campus_core.readings import Reading

from .lineprotocol import escape_key, format_value, series_prefix

#: Series prefixes one device may cache (table rows of a large switch stay well below).
MAX_CACHED_SERIES = 10_000
#: Field templates one device may cache: a device sends one field set, a few at most.
MAX_CACHED_TEMPLATES = 64
#: Integers below this in magnitude are exact as floats: ``%d.0`` is their float's repr.
EXACT_INT = 2**53
_NUMBER_TYPES = frozenset({int, float})
#: What a field set's values must pass for its template: ints in range, floats finite, or both.
_INTS, _FLOATS, _MIXED = "ints", "floats", "mixed"


class PointEncoder:
    """Encodes the readings of one device as line protocol with millisecond timestamps."""

    def __init__(self, measurement: str, tags: dict[str, str]) -> None:
        self.measurement = measurement
        self.tags = dict(tags)
        self._prefix = series_prefix(measurement, self.tags) + " "
        self._prefixes: dict[tuple[str | None, tuple[tuple[str, str], ...]], str] = {}
        self._field_keys: dict[str, str] = {}
        self._templates: dict[tuple[tuple[str, ...], tuple[type, ...]], tuple[str, str]] = {}
        # The last field set and its template: a device sends the same one poll after poll,
        # and comparing tuples of the same objects is cheaper than hashing them.
        self._last: tuple[tuple[str, ...], tuple[type, ...], str, str] = ((), (), "", _MIXED)
        self.skipped_values = 0

    def encode(self, reading: Reading) -> str | None:
        """One line for ``reading``, or None when no field has a value line protocol can carry."""
        names, values = reading.names, reading.values
        if values:
            types = tuple(map(type, values))
            last_names, last_types, template, check = self._last
            if names != last_names or types != last_types:
                template, check = self._templates.get((names, types)) or self._template(names, types)
                self._last = (names, types, template, check)
            # The template holds for ints exact as floats and finite floats (a NaN or an
            # infinity makes the sum one); anything else takes the per-field path below.
            # A field set of one type needs only its own test: ints are always finite.
            if (
                template
                and (check is _FLOATS or (min(values) > -EXACT_INT and max(values) < EXACT_INT))
                and (check is _INTS or math.isfinite(sum(values)))
            ):
                if reading.tags or reading.measurement:
                    prefix = self._series(reading.measurement, reading.tags)
                else:
                    prefix = self._prefix
                return f"{prefix}{template % values} {reading.time_ms}"
        return self._encode_each(reading)

    def _template(self, names: tuple[str, ...], types: tuple[type, ...]) -> tuple[str, str]:
        """``key=%d.0,key=%r,...`` for a field set of ints and floats ("" when it has others, bools)
        and which test its values need: :data:`_INTS`, :data:`_FLOATS` or :data:`_MIXED`."""
        if not _NUMBER_TYPES.issuperset(types):
            entry = ("", _MIXED)
        else:
            template = ",".join(
                escape_key(name).replace("%", "%%") + ("=%d.0" if kind is int else "=%r")
                for name, kind in zip(names, types, strict=True)
            )
            kinds = set(types)
            entry = (template, _INTS if kinds == {int} else _FLOATS if kinds == {float} else _MIXED)
        if len(self._templates) < MAX_CACHED_TEMPLATES:
            self._templates[(names, types)] = entry
        return entry

    def _encode_each(self, reading: Reading) -> str | None:
        """Field by field: for bools, values no float carries exactly, NaN and infinities."""
        keys = self._field_keys
        parts = []
        for name, value in zip(reading.names, reading.values, strict=True):
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
