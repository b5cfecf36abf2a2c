"""The configured objects as the device has them, and their values in the schema's terms.

When a session opens, :func:`prepare` finds each configured object (by type and instance,
or by name through the device's object list), reads what does not change between polls
(``units`` of numbers, ``state-text`` of multi-state objects asked for their text) and
checks each field's unit suffix against the object's units. Then :meth:`Target.value` turns
an answer into a field value: numbers converted to the schema's unit, binary states to
booleans, multi-state numbers as numbers (and their text when asked), text into a tag.
An object whose ``status-flags`` say fault or out-of-service, or whose ``reliability`` is
anything but ``no-fault-detected``, gives no value at all (:func:`faulty`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bacpypes3.basetypes import PropertyIdentifier
from bacpypes3.primitivedata import ObjectIdentifier

from .config import ANALOG, BINARY, MULTI_STATE, BacnetDevice, ObjectSpec
from .session import BacnetError, Problem, Session
from .units import Conversion, check_field, conversion

__all__ = ["FLAGS", "PRESENT_VALUE", "RELIABILITY", "Target", "faulty", "prepare"]

PRESENT_VALUE = PropertyIdentifier("present-value")
FLAGS = PropertyIdentifier("status-flags")
RELIABILITY = PropertyIdentifier("reliability")
UNITS = PropertyIdentifier("units")
STATE_TEXT = PropertyIdentifier("state-text")
OBJECT_NAME = PropertyIdentifier("object-name")
OBJECT_LIST = PropertyIdentifier("object-list")
#: Properties whose units are the object's ``units``.
_IN_UNITS = frozenset({"present-value", "high-limit", "low-limit", "relinquish-default", "cov-increment"})


@dataclass(slots=True)
class Target:
    """One configured object as found on the device."""

    spec: ObjectSpec
    object_id: ObjectIdentifier
    prop: PropertyIdentifier
    kind: str
    convert: Conversion | None = None
    states: list[str] = field(default_factory=list)
    #: False once the object said it has no reliability (or status flags): not asked again.
    reliability: bool = True
    flags: bool = True

    @property
    def label(self) -> str:
        """``analog-input,1`` (and its configured name), for messages."""
        text = f"{self.kind},{self.object_id[1]}"
        return text if self.spec.name is None else f"{text} ({self.spec.name!r})"

    def properties(self) -> list[PropertyIdentifier]:
        """What a poll reads of this object: the value, its status flags, its reliability."""
        props = [self.prop]
        if self.flags:
            props.append(FLAGS)
        if self.reliability:
            props.append(RELIABILITY)
        return props

    def value(self, raw: Any) -> float | bool | str | None:
        """The answer as the schema wants it; None when it is not a value this spec can use."""
        if self.spec.tag is not None:
            text = str(raw).strip() if raw is not None else ""
            return text or None
        if self.kind in BINARY and self.prop == PRESENT_VALUE:
            return int(raw) == 1
        if isinstance(raw, bool):
            return raw
        try:
            number = float(raw)
        except (TypeError, ValueError):
            return None
        return self.convert.apply(number) if self.convert is not None else number

    def state_text(self, raw: Any) -> str | None:
        """A multi-state value's text (states count from 1)."""
        try:
            index = int(raw) - 1
        except (TypeError, ValueError):
            return None
        return self.states[index] if 0 <= index < len(self.states) else None


def faulty(flags: Any, reliability: Any) -> str | None:
    """Why an object's value must not be used (``over-range``, ``out-of-service``, ``fault``), or None.

    The reliability is the more telling reason, so it is named first when it has one.
    """
    if reliability is not None and not isinstance(reliability, Problem):
        text = str(reliability)
        if text != "no-fault-detected":
            return text
    if flags is not None and not isinstance(flags, Problem):
        bits = list(flags)
        if len(bits) > 3 and bits[3]:
            return "out-of-service"
        if len(bits) > 1 and bits[1]:
            return "fault"
    return None


@dataclass
class Prepared:
    """The outcome of :func:`prepare`: what can be read, and what was left out with why."""

    targets: list[Target]
    #: Objects the device does not have, with why.
    missing: list[tuple[ObjectSpec, str]]
    #: Properties no BACnet device has (a typo), with why.
    unknown: list[tuple[ObjectSpec, str]]


async def prepare(session: Session, config: BacnetDevice) -> Prepared:
    """Find every configured object on the device and read what stays the same between polls.

    BacnetError for a field whose unit suffix contradicts its object's units: the whole
    device waits for the config to be fixed rather than write values under a wrong name.
    """
    missing: list[tuple[ObjectSpec, str]] = []
    unknown: list[tuple[ObjectSpec, str]] = []
    names = await _names(session) if any(spec.name is not None for spec in config.objects) else {}
    targets: list[Target] = []
    for spec in config.objects:
        if spec.object is not None:
            object_id = ObjectIdentifier(spec.object)
        elif spec.name in names:
            object_id = names[spec.name]
        else:
            missing.append((spec, "the device has no object of that name"))
            continue
        kind = str(object_id[0])
        if spec.object is None and kind not in ANALOG | BINARY | MULTI_STATE | {"characterstring-value"}:
            missing.append((spec, f"it is a {kind} object, which the agent does not read"))
            continue
        try:
            prop = PropertyIdentifier(spec.property)
        except ValueError:
            unknown.append((spec, f"{spec.property!r} is not a BACnet property name"))
            continue
        targets.append(Target(spec, object_id, prop, kind))
    wanted = [(t.object_id, _static(t)) for t in targets]
    values = await session.read([(o, p) for o, p in wanted if p])
    found: list[Target] = []
    problems: list[str] = []
    for target in targets:
        props = _static(target)
        answers = [values.get((target.object_id, p)) for p in props]
        gone = next((a for a in answers if isinstance(a, Problem) and a.error_code == "unknown-object"), None)
        if gone is not None:
            missing.append((target.spec, "the device has no such object (unknown-object)"))
            continue
        for prop, answer in zip(props, answers, strict=True):
            if isinstance(answer, Problem):
                continue
            if prop == UNITS and answer is not None:
                target.convert = conversion(str(answer))
                if target.spec.field is not None and str(target.prop) in _IN_UNITS:
                    why = check_field(target.spec.field, str(answer))
                    if why is not None:
                        problems.append(f"{target.label}: {why}")
            elif prop == STATE_TEXT and answer is not None:
                target.states = [str(s) for s in answer]
        found.append(target)
    if problems:
        raise BacnetError(
            "the config contradicts the device's units: "
            + "; ".join(problems)
            + " (change the field names in the device entry or its profile)"
        )
    return Prepared(found, missing, unknown)


def _static(target: Target) -> list[PropertyIdentifier]:
    """What is read once per session of this object."""
    props: list[PropertyIdentifier] = []
    if target.kind in ANALOG and str(target.prop) in _IN_UNITS:
        props.append(UNITS)
    if target.spec.state_tag is not None:
        props.append(STATE_TEXT)
    if not props:
        props.append(OBJECT_NAME)  # proves the object exists before the first poll
    return props


async def _names(session: Session) -> dict[str, ObjectIdentifier]:
    """The device's objects by name (its object list, then each object's name)."""
    assert session.peer is not None
    device = ObjectIdentifier(("device", session.peer.instance))
    listing = (await session.read([(device, [OBJECT_LIST])])).get((device, OBJECT_LIST))
    if isinstance(listing, Problem) or listing is None:
        raise BacnetError(
            f"cannot read the object list of device {session.peer.instance} ({listing}); "
            'name the objects by type and instance instead (object = "analog-input,1")'
        )
    objects = [ObjectIdentifier(o) for o in listing if str(o[0]) != "device"]
    values = await session.read([(o, [OBJECT_NAME]) for o in objects])
    return {
        str(name): o for o in objects if not isinstance(name := values.get((o, OBJECT_NAME)), Problem | None)
    }
