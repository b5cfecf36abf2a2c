"""A simulated SNMPv1/v2c agent on one loopback UDP port, answering from a device model.

GET, GETNEXT and GETBULK are answered like net-snmp does: a GETBULK answer is cut at
``max_size`` bytes (never an error), SNMPv1 gets ``noSuchName`` where v2c gets an
exception value, SNMPv1 never sees a Counter64, a wrong community gets no answer at all,
and SETs are refused (the simulated devices are read-only). Every request is counted by
PDU type, so a test can tell how many round trips a walk cost.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import Counter
from collections.abc import Callable
from typing import Protocol, cast

from . import ber
from .ber import Oid, Request, Value

Getter = Callable[[float], Value]
"""Computes an object's value at a given time (Unix seconds)."""


class MibSource(Protocol):
    """A device model as an agent sees it: a fixed set of OIDs, each with a getter."""

    def objects(self) -> dict[Oid, Getter]:
        """Every instance the device serves, with the function computing its value."""
        ...


class SimulatedAgent:
    """Answers SNMP requests for one device model; start it to listen on ``host:port``."""

    def __init__(
        self,
        source: MibSource,
        host: str,
        port: int,
        community: str = "public",
        max_size: int = 65_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        objects = source.objects()
        self.oids: list[Oid] = sorted(objects)
        self._getters = objects
        self.host, self.port = host, port
        self.community = community.encode()
        self.max_size = max_size
        self.clock = clock
        self.requests: Counter[str] = Counter()
        self.varbinds_served = 0
        #: ``(time, oid, value)`` of every value served, when a test asks for it (a list).
        self.journal: list[tuple[float, Oid, Value]] | None = None
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        """Listen; raise OSError if the port is taken."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Endpoint(self), local_addr=(self.host, self.port)
        )
        self._transport = transport
        if self.port == 0:
            self.port = int(transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        """Stop listening."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def answer(self, data: bytes) -> bytes | None:
        """The response to one datagram, or None when a real agent would stay silent."""
        try:
            request = ber.decode_request(data)
        except (ber.BerError, IndexError):
            self.requests["malformed"] += 1
            return None
        if request.community != self.community:
            self.requests["bad_community"] += 1
            return None
        if request.pdu == ber.GET_BULK and request.version == 0:
            self.requests["malformed"] += 1
            return None
        self.requests[ber.PDU_NAMES[request.pdu]] += 1
        now = self.clock()
        if request.pdu == ber.GET:
            return self._get(request, now)
        if request.pdu == ber.GET_NEXT:
            return self._next(request, now)
        if request.pdu == ber.GET_BULK:
            return self._bulk(request, now)
        status = ber.NO_SUCH_NAME if request.version == 0 else ber.NOT_WRITABLE
        return self._error(request, status, 1)

    def _value(self, oid: Oid, now: float) -> Value | None:
        getter = self._getters.get(oid)
        return None if getter is None else getter(now)

    def _has_under(self, prefix: Oid) -> bool:
        position = bisect.bisect_left(self.oids, prefix)
        return position < len(self.oids) and self.oids[position][: len(prefix)] == prefix

    def _v1_hides(self, value: Value, request: Request) -> bool:
        return request.version == 0 and value[0] == ber.COUNTER64

    def _next_after(self, oid: Oid, now: float, request: Request) -> tuple[Oid, Value] | None:
        position = bisect.bisect_right(self.oids, oid)
        while position < len(self.oids):
            candidate = self.oids[position]
            value = self._value(candidate, now)
            if value is not None and not self._v1_hides(value, request):
                return candidate, value
            position += 1
        return None

    def _get(self, request: Request, now: float) -> bytes:
        out: list[_Served] = []
        for index, oid in enumerate(request.oids, 1):
            value = self._value(oid, now)
            if value is None or self._v1_hides(value, request):
                if request.version == 0:
                    return self._error(request, ber.NO_SUCH_NAME, index)
                value = (ber.NO_SUCH_INSTANCE if self._has_under(oid[:-1]) else ber.NO_SUCH_OBJECT, None)
            out.append(_served(oid, value))
        return self._respond(request, out, now)

    def _next(self, request: Request, now: float) -> bytes:
        out: list[_Served] = []
        for index, oid in enumerate(request.oids, 1):
            found = self._next_after(oid, now, request)
            if found is None:
                if request.version == 0:
                    return self._error(request, ber.NO_SUCH_NAME, index)
                out.append(_served(oid, (ber.END_OF_MIB_VIEW, None)))
            else:
                out.append(_served(*found))
        return self._respond(request, out, now)

    def _bulk(self, request: Request, now: float) -> bytes:
        non_repeaters = max(0, min(request.non_repeaters, len(request.oids)))
        budget = self.max_size - 64 - len(request.community)
        out: list[_Served] = []
        size = 0
        for oid in request.oids[:non_repeaters]:
            found = self._next_after(oid, now, request)
            served = _served(*found) if found else _served(oid, (ber.END_OF_MIB_VIEW, None))
            out.append(served)
            size += len(served[2])
        cursors = list(request.oids[non_repeaters:])
        for _ in range(max(0, request.max_repetitions) if cursors else 0):
            ended = 0
            for position, oid in enumerate(cursors):
                found = self._next_after(oid, now, request)
                if found is None:
                    served = _served(oid, (ber.END_OF_MIB_VIEW, None))
                    ended += 1
                else:
                    cursors[position] = found[0]
                    served = _served(*found)
                if size + len(served[2]) > budget:
                    # Cut the answer rather than fail it, as RFC 3416 4.2.3 allows.
                    return self._respond(request, out, now)
                out.append(served)
                size += len(served[2])
            if ended == len(cursors):
                break
        return self._respond(request, out, now)

    def _respond(self, request: Request, varbinds: list[_Served], now: float) -> bytes:
        message = ber.encode_response(request, [encoded for _, _, encoded in varbinds])
        if len(message) > self.max_size:
            return self._error(request, ber.TOO_BIG, 0)
        self.varbinds_served += len(varbinds)
        if self.journal is not None:
            self.journal += [(now, oid, value) for oid, value, _ in varbinds]
        return message

    def _error(self, request: Request, status: int, index: int) -> bytes:
        # The request's varbinds come back with NULL values, as RFC 3416 asks.
        echoed = [ber.encode_varbind(oid, (ber.NULL, None)) for oid in request.oids]
        return ber.encode_response(request, echoed, status, index)


_Served = tuple[Oid, Value, bytes]


def _served(oid: Oid, value: Value) -> _Served:
    return oid, value, ber.encode_varbind(oid, value)


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, agent: SimulatedAgent) -> None:
        self.agent = agent
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        reply = self.agent.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
