"""The reading types every driver hands over and the agent takes: the one shape on the hot path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass

FieldValue = float | int | bool
"""A field value as a driver hands it over: already scaled into the schema's unit."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One point: the values a device gave in one poll, in field order.

    Field names and values are two parallel tuples rather than ``(name, value)`` pairs: a
    driver that decodes a whole read at once hands over the names its plan made (the same
    tuple every poll) and the values one unpack gave, and the encoder formats the values
    tuple as it is; pairs cost two tuples per field to build and to take apart again
    (bench/README, "Closing the gap"). :meth:`of` builds one from pairs, :attr:`fields`
    gives them back. ``tags`` carries tags that only the device knows at poll time (a
    table row's index); the device's static tags are added later, once, by the
    normaliser. ``measurement`` overrides the device's measurement for this point (an
    SNMP table beside its scalars).
    """

    device: str
    time_ms: int
    names: tuple[str, ...]
    values: tuple[FieldValue, ...]
    tags: tuple[tuple[str, str], ...] = ()
    measurement: str | None = None

    @classmethod
    def of(
        cls,
        device: str,
        time_ms: int,
        fields: Iterable[tuple[str, FieldValue]],
        tags: tuple[tuple[str, str], ...] = (),
        measurement: str | None = None,
    ) -> Reading:
        """A reading from ``(name, value)`` pairs, for drivers that collect a field at a time."""
        pairs = tuple(fields)
        names = tuple(name for name, _ in pairs)
        values = tuple(value for _, value in pairs)
        return cls(device, time_ms, names, values, tags, measurement)

    @property
    def fields(self) -> tuple[tuple[str, FieldValue], ...]:
        """The ``(name, value)`` pairs, in field order (built on each call: not for the hot path)."""
        return tuple(zip(self.names, self.values, strict=True))


class DeviceError(Exception):
    """A poll failed; the message names the device and says what to check."""

    def __init__(self, device: str, reason: str) -> None:
        super().__init__(f"device {device!r}: {reason}")
        self.device = device
        self.reason = reason


def counters(stats: object) -> dict[str, int]:
    """A driver's stats dataclass as flat counters: ``timeouts``, ``exceptions_2``, ``rejected_not_json``.

    Drivers keep a ``stats`` dataclass of plain numbers and dicts of numbers; the agent reads
    it through this when metrics are scraped, so the hot path only increments integers.
    """
    flat: dict[str, int] = {}
    if not is_dataclass(stats):
        return flat
    for item in fields(stats):
        value = getattr(stats, item.name)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            flat[item.name] = value
        elif isinstance(value, dict):
            for key, count in value.items():
                if isinstance(count, int) and not isinstance(count, bool):
                    flat[f"{item.name}_{key}"] = count
    return flat
