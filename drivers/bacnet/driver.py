"""BACnet/IP driver: reads the configured objects of one device in as few requests as it allows.

One poll (``mode = "poll"``): open the session if there is none (the endpoint, the device's
I-Am, the objects found and their units checked, :mod:`.objects`), then read every object's
value, ``status-flags`` and ``reliability`` with ReadPropertyMultiple (or ReadProperty, for
a device that refuses it) and make one reading of it. Quality:

* an object whose status flags say fault or out-of-service, or whose reliability is not
  ``no-fault-detected``, is left out and counted (``faulty``), with one warning until it is
  good again: its value is never passed off as a good reading;
* an object the device does not have, or a property it refuses, is logged once as an error
  naming the device, the object and what to change, and left out (``unknown``,
  ``refused``); the other objects are read. Only when nothing is readable does the poll fail.

With ``mode = "cov"`` the values come from change-of-value notifications (:mod:`.cov`): on a
new session every value is read once and each object subscribed; later polls hand over what
was notified (one point per arrival) after one small read proving the device alive. Objects
the device will not subscribe are read at every poll instead, after one warning.

The device is read-only to us: no write service is ever sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import structlog
from bacpypes3.basetypes import PropertyIdentifier
from bacpypes3.primitivedata import ObjectIdentifier

from campus_core.clock import now_ms
from campus_core.identity import Identity
from campus_core.readings import DeviceError, FieldValue, Reading

from .config import BacnetDevice, ObjectSpec
from .cov import Notification, Subscriptions
from .identity import read_identity
from .objects import FLAGS, PRESENT_VALUE, RELIABILITY, Target, faulty, prepare
from .session import BacnetError, Problem, Session

__all__ = ["BacnetDriver", "BacnetStats"]

log = structlog.get_logger("drivers.bacnet")
SYSTEM_STATUS = PropertyIdentifier("system-status")


@dataclass
class BacnetStats:
    """What happened on the wire and what could not be used, for tests, metrics and logs."""

    polls: int = 0
    connects: int = 0
    rpm_requests: int = 0
    single_reads: int = 0
    faulty: int = 0
    unknown: int = 0
    refused: int = 0
    not_a_number: int = 0
    session_lost: int = 0
    cov_subscriptions: int = 0
    cov_renewals: int = 0
    cov_notifications: int = 0
    cov_dropped: int = 0
    faulty_by_reason: dict[str, int] = field(default_factory=dict)


def _lacks(answer: Any) -> bool:
    return isinstance(answer, Problem) and answer.error_code == "unknown-property"


class BacnetDriver:
    """Polls one BACnet/IP device over a session kept across polls."""

    def __init__(self, config: BacnetDevice) -> None:
        self._config = config
        self._session = Session(config)
        self._targets: list[Target] = []
        self._polled: list[Target] = []
        self._items: list[tuple[ObjectIdentifier, list[PropertyIdentifier]]] = []
        self._cov: Subscriptions | None = None
        self._cov_refused: set[str] = set()
        self._logged: set[str] = set()
        self._tags: dict[str, str] = {}
        self._every: list[tuple[ObjectIdentifier, list[PropertyIdentifier]]] = []
        #: COV mode: when every value is read again (the shortest heartbeat the device keeps).
        self._heartbeat_ms = int(
            1000 * min([config.heartbeat, *(o.heartbeat for o in config.objects if o.heartbeat)])
        )
        self._next_read_ms = 0
        self.stats = BacnetStats()

    @property
    def name(self) -> str:
        """The device name from the config."""
        return self._config.name

    @property
    def connects(self) -> int:
        """Sessions opened to the device so far: a new one may be a restarted or swapped controller."""
        return self.stats.connects

    async def identify(self) -> Identity:
        """What the device object states (vendor, model, firmware...), on the open session."""
        config = self._config
        if not self._session.open:
            raise DeviceError(config.name, f"no session to {config.address}; the next poll opens one")
        try:
            return await read_identity(self._session)
        except BacnetError as exc:
            raise DeviceError(config.name, exc.reason) from None

    @property
    def uses_rpm(self) -> bool | None:
        """Whether the device answers ReadPropertyMultiple (None until it was asked)."""
        return self._session.rpm

    @property
    def objects_per_request(self) -> int:
        """Objects the next ReadPropertyMultiple may hold (planned from the device's I-Am)."""
        return self._session.max_objects

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._drop(cancel=self._session.open)
        await self._session.close()

    async def _drop(self, cancel: bool = False) -> None:
        """End the subscriptions and forget the device; the endpoint stays for the next session."""
        cov, self._cov = self._cov, None
        if cov is not None:
            self.stats.cov_renewals += cov.renewals
            await cov.close(cancel)
        self._session.forget()

    async def poll(self) -> list[Reading]:
        """Read every configured object once (or hand over what was notified); DeviceError says why not."""
        config = self._config
        session = self._session
        notified: list[Reading] = []
        every = False
        try:
            fresh = not session.open or (self._cov is not None and self._cov.lost is not None)
            if fresh:
                values = await self._start()
            elif self._cov is not None:
                notified = await self._notified()
                if now_ms() < self._next_read_ms:
                    return notified
                # The heartbeat: a device with nothing new still shows its values, read now.
                values = await session.read(self._every)
                every = True
            else:
                values = await session.read(self._items)
        except BacnetError as exc:
            self.stats.session_lost += int(session.open)
            await self._drop()
            raise DeviceError(config.name, exc.reason) from None
        finally:
            self.stats.rpm_requests = session.rpm_requests
            self.stats.single_reads = session.single_reads
        self.stats.polls += 1
        targets = self._targets if fresh or every or self._cov is None else self._polled
        now = now_ms()
        if fresh or every:
            self._next_read_ms = now + self._heartbeat_ms
        reading = self._reading(targets, values, now)
        if reading is None:
            raise DeviceError(
                config.name,
                f"no object of {session.where} gave a usable value this poll (see the warnings "
                "for each); check the controller",
            )
        self._tags = dict(reading.tags)
        return [*notified, reading]

    async def _start(self) -> dict[Any, Any]:
        """Open the session, read every object once, subscribe in cov mode: all of it, or none.

        A session counts as open only once this is done, so a poll cancelled half-way (a
        reload, the agent stopping) or failing leaves the next one to start over.
        """
        try:
            await self._open()
            values = await self._session.read(self._items)
            if self._config.mode == "cov":
                await self._subscribe()
        except BaseException:
            await self._drop()
            raise
        return values

    async def _open(self) -> None:
        """Connect, find the objects; the missing ones are named once."""
        config = self._config
        await self._drop()
        session = self._session
        await session.connect()
        self.stats.connects += 1
        prepared = await prepare(session, config)
        for spec, why in prepared.missing:
            self._unknown(spec, why)
        for spec, why in prepared.unknown:
            self._refused(spec, spec.where, why)
        if not prepared.targets:
            raise BacnetError(
                f"none of the {len(config.objects)} configured objects exists on device "
                f"{session.peer.instance if session.peer else '?'} at {session.where} (see the errors "
                f"for each); list what it has with: edge-agent scan bacnet {config.address}"
            )
        self._targets = prepared.targets
        self._polled = list(prepared.targets)
        self._plan()
        self._every = list(self._items)  # every object: what a heartbeat reads in cov mode

    def _plan(self) -> None:
        """The read list: each object once, with every property its targets need."""
        props: dict[ObjectIdentifier, list[PropertyIdentifier]] = {}
        for target in self._polled:
            wanted = props.setdefault(target.object_id, [])
            wanted += [p for p in target.properties() if p not in wanted]
        if self._cov is not None and not self._polled:
            # Everything is subscribed: one small read per poll proves the device is there.
            assert self._session.peer is not None
            props[ObjectIdentifier(("device", self._session.peer.instance))] = [SYSTEM_STATUS]
        self._items = list(props.items())

    async def _subscribe(self) -> None:
        """Subscribe to every present value; what the device refuses stays polled, said once."""
        config = self._config
        cov = Subscriptions(self._session, config.cov_lifetime, self._lost)
        wanted = {t.object_id for t in self._targets if t.prop == PRESENT_VALUE}
        wanted -= {ObjectIdentifier(o) for o in self._cov_refused}
        try:
            refused = await cov.subscribe(sorted(wanted, key=str))
        except BaseException:
            # The device went away (or the poll was cancelled) half-way: nothing stays behind.
            await cov.close()
            raise
        self._cov = cov
        self.stats.cov_subscriptions += len(cov.objects)
        if refused:
            self._cov_refused |= {str(o) for o in refused}
            log.warning(
                "device refuses COV for these objects; they are polled at every interval instead",
                device=self.name,
                objects=", ".join(f"{o[0]},{o[1]}" for o in refused),
                answer=next(iter(refused.values())),
            )
        self._polled = [t for t in self._targets if t.object_id not in cov.objects]
        self._plan()

    def _lost(self, reason: str) -> None:
        log.warning(
            "COV subscriptions lost; subscribing again at the next poll", device=self.name, reason=reason
        )

    async def _notified(self) -> list[Reading]:
        """What was notified since the last poll, and the objects still polled, as readings."""
        cov = self._cov
        assert cov is not None
        values = await self._session.read(self._items)
        self.stats.polls += 1
        now = now_ms()
        readings: list[Reading] = []
        polled = self._reading(self._polled, values, now) if self._polled else None
        notifications = cov.take()
        self.stats.cov_notifications += cov.received
        self.stats.cov_dropped += cov.dropped
        cov.received = cov.dropped = 0
        readings += self._from_notifications(notifications)
        if polled is not None:
            readings.append(polled)
        return sorted(readings, key=lambda r: r.time_ms)

    def _from_notifications(self, notifications: list[Notification]) -> list[Reading]:
        groups: dict[int, list[tuple[str, FieldValue]]] = {}
        by_object: dict[ObjectIdentifier, list[Target]] = {}
        for target in self._targets:
            by_object.setdefault(target.object_id, []).append(target)
        for note in notifications:
            fields: list[tuple[str, FieldValue]] = []
            tags: list[tuple[str, str]] = []
            for target in by_object.get(note.object_id, ()):
                if target.prop != PRESENT_VALUE:
                    continue
                raw = note.values.get("present-value")
                if raw is None:
                    continue
                values = {
                    (target.object_id, PRESENT_VALUE): raw,
                    (target.object_id, FLAGS): note.values.get("status-flags"),
                }
                self._convert(target, values, fields, tags)
            self._tags.update(tags)
            if fields:
                groups.setdefault(note.time_ms, []).extend(fields)
        known = tuple(self._tags.items())
        return [Reading.of(self.name, at, tuple(fields), known) for at, fields in sorted(groups.items())]

    def _reading(self, targets: list[Target], values: dict[Any, Any], time_ms: int) -> Reading | None:
        fields: list[tuple[str, FieldValue]] = []
        tags: list[tuple[str, str]] = []
        replan = False
        for target in targets:
            replan |= self._convert(target, values, fields, tags)
        if replan:
            self._polled = [t for t in self._polled if t in self._targets]
            self._plan()
        if not fields and not tags:
            return None
        return Reading.of(self.name, time_ms, tuple(fields), tuple(tags))

    def _convert(
        self,
        target: Target,
        values: dict[Any, Any],
        fields: list[tuple[str, FieldValue]],
        tags: list[tuple[str, str]],
    ) -> bool:
        """One object's answer into a field and tags, by its quality; True when the plan must change."""
        raw = values.get((target.object_id, target.prop))
        if isinstance(raw, Problem):
            return self._problem(target, raw)
        replan = False
        reliability = values.get((target.object_id, RELIABILITY))
        flags = values.get((target.object_id, FLAGS))
        if _lacks(reliability) and target.reliability:
            # The object has no reliability property (it is optional): not asked again.
            target.reliability = False
            replan = True
        if _lacks(flags) and target.flags:
            # Only the device object lacks status flags among the types read.
            target.flags = False
            replan = True
        why = faulty(flags, reliability)
        key = f"faulty:{target.label}"
        if why is not None:
            self.stats.faulty += 1
            self.stats.faulty_by_reason[why] = self.stats.faulty_by_reason.get(why, 0) + 1
            if self._first_time(key):
                log.warning(
                    "object reports itself unreliable; left out until it is good again",
                    device=self.name,
                    object=target.label,
                    value=target.spec.key,
                    reason=why,
                )
            return replan
        self._logged.discard(key)
        value = target.value(raw)
        if value is None:
            self._not_a_number(target, raw)
        elif isinstance(value, str):
            tags.append((target.spec.key, value))
        else:
            fields.append((target.spec.key, value))
            if target.spec.state_tag is not None and (text := target.state_text(raw)):
                tags.append((target.spec.state_tag, text))
        return replan

    def _problem(self, target: Target, problem: Problem) -> bool:
        """A property error: the object or property does not exist (left out for good), or not now."""
        if problem.error_code == "unknown-object":
            self._unknown(target.spec, "the device has no such object (unknown-object)")
        elif problem.error_code in ("unknown-property", "read-access-denied"):
            self._refused(target.spec, target.label, str(problem))
        else:
            self.stats.faulty += 1
            self.stats.faulty_by_reason[problem.error_code] = (
                self.stats.faulty_by_reason.get(problem.error_code, 0) + 1
            )
            return False
        self._targets = [t for t in self._targets if t is not target]
        return True

    def _first_time(self, key: str) -> bool:
        """Whether the problem ``key`` is met for the first time: each is logged once, not per poll."""
        if key in self._logged:
            return False
        self._logged.add(key)
        return True

    def _refused(self, spec: ObjectSpec, label: str, answer: str) -> None:
        self.stats.refused += 1
        if not self._first_time(f"refused:{label}"):
            return
        log.error(
            "device refuses the property; object left out",
            device=self.name,
            object=label,
            property=spec.property,
            answer=answer,
            fix=f"correct property of {spec.key!r} (or remove it) in the config, listing the "
            f"object's properties with edge-agent scan bacnet {self._config.address}",
        )

    def _unknown(self, spec: ObjectSpec, why: str) -> None:
        self.stats.unknown += 1
        if not self._first_time(f"unknown:{spec.where}"):
            return
        log.error(
            "object not on the device; left out",
            device=self.name,
            object=spec.where,
            value=spec.key,
            reason=why,
            fix=f"correct the object of {spec.key!r} in the config (or its profile), listing the "
            f"device's objects with edge-agent scan bacnet {self._config.address}, then reload",
        )

    def _not_a_number(self, target: Target, raw: Any) -> None:
        self.stats.not_a_number += 1
        if self._first_time(f"nan:{target.label}"):
            log.warning(
                'property holds no number; left out (text goes into a tag: tag = "...")',
                device=self.name,
                object=target.label,
                value=target.spec.key,
                type=type(raw).__name__,
            )
