"""A school's last readings, by device and place: what the school page lists under each room.

A device's readings may lie in several places (a wireless bridge covers rooms 201 and 202
through a topic wildcard) and in several rows (a switch's ports, ``if_index``). A state tag
that changed (``power_source="battery"``) starts a new series; the newest one speaks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from . import i18n
from .panels import split_metric
from .sources import Sample
from .strings import FIELDS

#: Labels that tell one row of a device's table from another.
ROW_LABELS = ("if_index", "cpu_index", "storage_index")
#: Fields the school page shows of a device at most.
SHOWN = 6
_FIELD_ORDER = {name: index for index, name in enumerate(FIELDS)}


@dataclass
class Place:
    """One device in one building and room, with its last readings there."""

    device: str
    building: str
    room: str
    kind: str = ""
    #: metric name -> {row key -> (time, value)}
    fields: dict[str, dict[tuple[str, ...], tuple[float, float]]] = field(default_factory=dict)

    @property
    def newest(self) -> float | None:
        """When the newest of its readings was taken (unix seconds)."""
        times = [t for rows in self.fields.values() for t, _ in rows.values()]
        return max(times) if times else None

    def values(self, lang: str, limit: int | None = SHOWN) -> list[dict[str, Any]]:
        """Its last values, fields the schema knows first: a field of many rows by its largest."""
        found: list[tuple[tuple[bool, int, str], dict[str, Any]]] = []
        for metric, rows in self.fields.items():
            name = split_metric(metric)[1]
            text, unit = i18n.field(lang, name)
            largest = max(value for _, value in rows.values())
            order = (len(rows) > 1, _FIELD_ORDER.get(name, len(_FIELD_ORDER)), name)
            found.append(
                (order, {"field": name, "label": text, "unit": unit, "value": largest, "rows": len(rows)})
            )
        out = [value for _, value in sorted(found, key=lambda item: item[0])]
        return out[:limit] if limit else out


def places(values: list[Sample], times: list[Sample]) -> dict[tuple[str, str, str], Place]:
    """The last readings by (device, building, room), from :func:`queries.last_values` and
    :func:`queries.last_value_times` of the same selector."""
    when = {_key(sample.labels): sample.value for sample in times}
    found: dict[tuple[str, str, str], Place] = {}
    for sample in values:
        labels = sample.labels
        where = (labels.get("device", ""), labels.get("building", ""), labels.get("room", ""))
        place = found.setdefault(where, Place(*where, kind=labels.get("kind", "")))
        row = tuple(labels.get(name, "") for name in ROW_LABELS)
        taken = when.get(_key(labels), 0.0)
        rows = place.fields.setdefault(labels.get("__name__", ""), {})
        if row not in rows or rows[row][0] <= taken:
            rows[row] = (taken, sample.value)
    return found


def age(place: Place, now: float | None = None) -> float | None:
    """Seconds since the place's newest reading."""
    newest = place.newest
    return None if newest is None else max(0.0, (now or time.time()) - newest)


def _key(labels: dict[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())
