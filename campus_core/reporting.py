"""Report by exception: which fields of a reading go to the store, set the same way for every driver.

A device (or a profile, as the device's default) sets how it reports; a register, field,
node, OID or object may set its own, which wins::

    report = "on_change"   # or "always" (the default)
    heartbeat = "5m"       # the longest a field goes unsent while its device answers
    deadband = 0.5         # absolute, in the field's unit after scale
    deadband_pct = 2.0     # or: percent of the value last sent

Drivers offer the keys through :class:`DeviceReporting` and :class:`FieldReporting` and say
which field each per-field setting belongs to; :func:`policy` turns them into a
:class:`ReportPolicy` of plain rules, which the agent applies (edge_agent/reporting.py).
A policy of nothing but ``always`` is None: such a device costs nothing more per reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from campus_core.units import Duration

Report = Literal["always", "on_change"]
#: A store's default lookback is five minutes: a field sent at least this often always shows.
DEFAULT_HEARTBEAT = 300.0


def _one_deadband(deadband: float | None, deadband_pct: float | None) -> None:
    if deadband is not None and deadband_pct is not None:
        raise ValueError("set deadband or deadband_pct, not both: one field has one deadband")


class DeviceReporting(BaseModel):
    """The device's own report keys (a profile's are its defaults)."""

    report: Report = Field(default="always", description='"on_change": send a field when it moved')
    heartbeat: Duration = Field(default=DEFAULT_HEARTBEAT, description="the longest a field goes unsent")
    deadband: float | None = Field(default=None, ge=0, description="absolute, in the field's unit")
    deadband_pct: float | None = Field(default=None, ge=0, description="percent of the value last sent")

    @model_validator(mode="after")
    def _one(self) -> DeviceReporting:
        _one_deadband(self.deadband, self.deadband_pct)
        return self


class FieldReporting(BaseModel):
    """One field's report keys; each left unset takes the device's."""

    report: Report | None = None
    heartbeat: Duration | None = None
    deadband: float | None = Field(default=None, ge=0)
    deadband_pct: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one(self) -> FieldReporting:
        _one_deadband(self.deadband, self.deadband_pct)
        return self

    def sets_any(self) -> bool:
        """Whether this field sets any report key of its own."""
        return self.report is not None or self.heartbeat is not None or self.sets_deadband()

    def sets_deadband(self) -> bool:
        """Whether this field sets a deadband of its own (refused on text and boolean fields)."""
        return self.deadband is not None or self.deadband_pct is not None


#: What a driver says about one configured field: its name, its own keys, whether it is a number.
FieldSettings = tuple[str, FieldReporting | None, bool]


@dataclass(frozen=True, slots=True)
class FieldRule:
    """How one field is reported: ``on_change`` or always, its heartbeat and deadband.

    ``deadband`` is absolute (0: any change is sent); with ``deadband_pct`` set it is the
    percent of the value last sent instead. Booleans are sent when they change, whatever
    the deadband.
    """

    on_change: bool
    heartbeat_ms: int
    deadband: float = 0.0
    deadband_pct: float | None = None


@dataclass(frozen=True)
class ReportPolicy:
    """The rule of every field of a device; fields no setting names take ``default``."""

    default: FieldRule
    fields: Mapping[str, FieldRule] = field(default_factory=dict)

    def rule(self, name: str) -> FieldRule:
        """The rule for field ``name``."""
        return self.fields.get(name, self.default)


def _rule(device: DeviceReporting, own: FieldReporting | None) -> FieldRule:
    report = (own.report if own is not None else None) or device.report
    heartbeat = own.heartbeat if own is not None and own.heartbeat is not None else device.heartbeat
    if own is not None and own.sets_deadband():
        deadband, pct = own.deadband, own.deadband_pct
    else:
        deadband, pct = device.deadband, device.deadband_pct
    return FieldRule(report == "on_change", int(heartbeat * 1000), deadband or 0.0, pct)


def policy(device: DeviceReporting, fields: Iterable[FieldSettings]) -> ReportPolicy | None:
    """The device's policy from its keys and its fields' (None when everything is sent always)."""
    default = _rule(device, None)
    rules = {name: _rule(device, own) for name, own, _ in fields if own is not None and own.sets_any()}
    if not default.on_change and not any(rule.on_change for rule in rules.values()):
        return None
    return ReportPolicy(default, rules)


def refuse_deadband(own: FieldReporting | None, numeric: bool) -> None:
    """A field that is text or a boolean has no distance to measure: a deadband on it is an error."""
    if own is not None and own.sets_deadband() and not numeric:
        raise ValueError(
            "a deadband means nothing for a text or boolean value (it is sent whenever it "
            "changes): remove deadband or deadband_pct here"
        )


def heartbeats(device: DeviceReporting, fields: Iterable[FieldSettings]) -> list[tuple[str | None, float]]:
    """Every heartbeat an ``on_change`` device keeps: ``(None, seconds)`` for the device's own,
    ``(field, seconds)`` for a field that sets one. Empty when nothing is sent on change."""
    found: list[tuple[str | None, float]] = []
    if device.report == "on_change":
        found.append((None, device.heartbeat))
    for name, own, _ in fields:
        if own is not None and own.heartbeat is not None and (own.report or device.report) == "on_change":
            found.append((name, own.heartbeat))
    return found
