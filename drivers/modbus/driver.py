"""Modbus driver: reads a device's registers in planned requests over its link and decodes them.

Transports: Modbus TCP, RTU on a serial port, RTU framing over TCP (serial servers). The
device is read-only to us: only the read function codes 1-4 are ever sent, and Read Device
Identification (43 / MEI 14) when the asset register asks who the device is (``identify``,
identity.py).

What one poll does, and what it does when the device objects:

* each planned request is sent over the device's :class:`~.link.Link` (shared with the
  other unit ids on the same port or serial server, one request at a time);
* exception 2 or 3 on a coalesced read: the read is split around the refused addresses
  (``holes.py``), the new plan is kept for the next polls, and a value the device refuses
  even alone is logged once, counted and skipped; exception 1 skips the request's values;
* exception 5 or 6 (busy): the request is retried a few times, the link free meanwhile;
* any other exception, a timeout or a rejected answer fails the poll with a
  :class:`~campus_core.readings.DeviceError` naming the device, unit, table and addresses; the scheduler
  then backs off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import structlog

from campus_core.clock import now_ms
from campus_core.identity import Identity
from campus_core.readings import DeviceError, FieldValue, Reading

from .config import ModbusDevice
from .errors import (
    BUSY,
    REFUSED,
    BadAnswer,
    DeviceStats,
    LinkDown,
    NoAnswer,
    WriteRefused,
    describe_exception,
)
from .holes import Refused, split_around_holes
from .identity import IdentityProbe
from .link import LINKS, Link, LinkConflict, Links
from .planner import Request, Slot, shared_plan

# pymodbus logs the raw frames of every client on any error; our own log line names the
# device and the request, which is what a technician needs.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

log = structlog.get_logger("drivers.modbus")

#: A busy device (exception 5 or 6) is asked again this many times, waiting 0.1, 0.2, 0.4 s.
BUSY_RETRIES = 3
BUSY_WAIT = 0.1

Values = list[int] | list[bool]


class ModbusDriver:
    """Polls one Modbus device (one unit id) over its shared link."""

    def __init__(self, config: ModbusDevice, links: Links = LINKS) -> None:
        self._config = config
        self._requests: list[Request] = list(
            shared_plan(config.registers, config.gap, config.max_registers, config.max_bits)
        )
        self._links = links
        self._link: Link | None = None
        self.stats = DeviceStats()
        self._identity = IdentityProbe(config, self.stats)

    @property
    def name(self) -> str:
        """The device name from the config."""
        return self._config.name

    @property
    def requests(self) -> list[Request]:
        """The read requests of one poll; after a split, the pieces that work."""
        return list(self._requests)

    @property
    def link(self) -> Link | None:
        """The link this driver reads through, once the first poll opened it."""
        return self._link

    @property
    def connects(self) -> int:
        """Connections opened on this device's link so far (shared with the other units on it)."""
        return self._link.stats.connects if self._link is not None else 0

    async def identify(self) -> Identity:
        """What the device states about itself (FC 43, SunSpec); DeviceError when unreachable."""
        link = self._acquire()
        try:
            return await self._identity.read(link)
        except LinkDown as exc:
            raise DeviceError(self.name, str(exc)) from exc

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._link is not None:
            self._links.release(self._link, self.name)
            self._link = None

    async def poll(self) -> list[Reading]:
        """Read every planned request once and return one reading with all fields and tags."""
        link = self._acquire()
        self.stats.polls += 1
        results: list[tuple[Request, Values]] = []
        adapted: list[Request] = []
        changed = False
        for request in self._requests:
            answer = await self._read(link, request)
            if isinstance(answer, Refused):
                pieces = await self._split(link, request, answer.code)
                changed = True
                adapted += [piece for piece, _ in pieces]
                results += pieces
            else:
                adapted.append(request)
                results.append((request, answer))
        if changed:
            self._requests = adapted
            log.info(
                "read plan adapted to the device",
                device=self.name,
                unit=self._config.unit,
                requests=[r.describe() for r in adapted],
            )
        if not results:
            raise DeviceError(
                self.name,
                f"nothing left to read at unit {self._config.unit} on {link}: "
                "the device refused every register (see the earlier warnings); "
                "fix the addresses against the manual and reload",
            )
        return [self._reading(results)]

    def _reading(self, results: Sequence[tuple[Request, Values]]) -> Reading:
        whole = results[0][0].whole if len(results) == 1 else None
        if whole is not None:
            # The common meter: one request decoded at once, under the plan's own names tuple.
            answer = whole.values_of(results[0][1])
            return Reading(self.name, now_ms(), whole.names, answer)
        names: list[str] = []
        decoded: list[FieldValue] = []
        tags: list[tuple[str, str]] = []
        for request, values in results:
            if request.whole is not None:
                names += request.whole.names
                decoded += request.whole.values_of(values)
                continue
            for slot in request.slots:
                words = values[slot.offset : slot.offset + slot.width]
                if slot.decode is not None and slot.field is not None:
                    names.append(slot.field)
                    decoded.append(slot.decode(words))
                if slot.text is not None and slot.tag is not None:
                    text = slot.text(words)
                    if text is not None:
                        tags.append((slot.tag, text))
        return Reading(self.name, now_ms(), tuple(names), tuple(decoded), tuple(tags))

    def _acquire(self) -> Link:
        if self._link is None:
            config = self._config
            try:
                self._link = self._links.acquire(config.link, self.name, config.pause or 0.0)
            except LinkConflict as exc:
                raise DeviceError(self.name, str(exc)) from exc
        return self._link

    async def _read(self, link: Link, request: Request) -> Values | Refused:
        """One request, with busy retries; Refused for exceptions 1-3, DeviceError otherwise."""
        config = self._config
        where = f"unit {config.unit}, {request.describe()}"
        for attempt in range(BUSY_RETRIES + 1):
            self.stats.requests += 1
            try:
                response = await link.read(
                    config.unit, request.table, request.address, request.count, config.timeout
                )
            except LinkDown as exc:
                raise DeviceError(self.name, str(exc)) from exc
            except NoAnswer as exc:
                self.stats.timeouts += 1
                raise DeviceError(self.name, f"no answer from {link} ({where}): {exc}") from exc
            except BadAnswer as exc:
                self.stats.bad_answers += 1
                raise DeviceError(self.name, f"rejected answer from {link} ({where}): {exc}") from exc
            except WriteRefused as exc:
                raise DeviceError(self.name, str(exc)) from exc
            code = response.exception
            if code is None:
                return response.values
            self.stats.exceptions[code] += 1
            if code in REFUSED:
                return Refused(code)
            if code in BUSY and attempt < BUSY_RETRIES:
                self.stats.busy_retries += 1
                # The link is free meanwhile: other units on the bus go on.
                await asyncio.sleep(BUSY_WAIT * 2**attempt)
                continue
            tried = f" (asked {attempt + 1} times)" if code in BUSY else ""
            raise DeviceError(self.name, f"{describe_exception(code)} from {link} ({where}){tried}")
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _split(self, link: Link, request: Request, code: int) -> list[tuple[Request, Values]]:
        config = self._config
        if code == 1:
            # The whole table is missing: splitting cannot help.
            self._skip(request.table, request.slots, code)
            return []
        self.stats.splits += 1
        log.info(
            "coalesced read refused; splitting it around the refused addresses",
            device=self.name,
            unit=config.unit,
            request=request.describe(),
            reason=describe_exception(code),
        )

        async def read(piece: Request) -> Values | Refused:
            return await self._read(link, piece)

        pieces, refused = await split_around_holes(request, read)
        if refused:
            self._skip(request.table, refused, code)
        return pieces

    def _skip(self, table: str, slots: Sequence[Slot], code: int) -> None:
        self.stats.skipped_values += len(slots)
        for slot in slots:
            log.warning(
                "value skipped: the device refuses its address; it is not read again "
                "until the agent restarts",
                device=self.name,
                unit=self._config.unit,
                table=table,
                address=slot.address,
                value=slot.name,
                reason=describe_exception(code),
                skipped=self.stats.skipped_values,
            )
