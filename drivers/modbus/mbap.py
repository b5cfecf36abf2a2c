"""Modbus TCP as the agent speaks it: read requests in MBAP frames over one connection.

Plain Modbus TCP needs little: a 7-byte header (transaction id, protocol 0, length, unit)
before the PDU. The agent frames it here rather than through pymodbus' client, which on
the campus benchmark cost ~5 KB of memory per device and a transaction manager's
bookkeeping per request (docs/decisions.md); serial lines and RTU over TCP, where CRCs
and inter-frame timing are the hard part, stay with pymodbus (link.py).

Only the read function codes 1-4 and Read Device Identification (43 / MEI 14, mei.py)
can be framed at all. An answer must carry the
request's transaction id and unit id (frames that do not are counted and skipped, as a
late answer to an earlier request would be), its function code and exactly the bytes
asked for; anything else fails the read as a :class:`BadAnswer` naming what was wrong,
and the link closes the connection to get back in step.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from typing import cast

from . import mei
from .errors import BadAnswer, LinkStats, NoAnswer, WriteRefused

_HEADER = struct.Struct(">HHHB")
_REQUEST = struct.Struct(">HHHBBHH")
#: A PDU is at most 253 bytes; the MBAP length counts it and the unit id.
_MAX_LENGTH = 254


@dataclass(frozen=True, slots=True)
class Answer:
    """What one read brought back: the values asked for, or the device's exception code.

    An identification request (FC 43) brings back its ``page`` instead of values.
    """

    values: list[int] | list[bool]
    exception: int | None = None
    page: mei.IdPage | None = None


@dataclass(slots=True)
class _Waiting:
    transaction: int
    unit: int
    function: int
    count: int
    future: asyncio.Future[Answer]


class MbapConnection(asyncio.Protocol):
    """One TCP connection to a Modbus TCP device or gateway; one request at a time."""

    def __init__(self, stats: LinkStats) -> None:
        self._stats = stats
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiting: _Waiting | None = None
        self._transaction = 0
        self._rejected = 0
        self.closed = False

    @classmethod
    async def open(cls, host: str, port: int, stats: LinkStats) -> MbapConnection:
        """Connect (the caller bounds the wait); raises OSError when that fails."""
        connection = cls(stats)
        await asyncio.get_running_loop().create_connection(lambda: connection, host, port)
        return connection

    def close(self) -> None:
        """Close the connection; a read still waiting fails as a lost connection."""
        if self._transport is not None:
            self._transport.close()

    async def read(self, unit: int, function: int, address: int, count: int, within: float) -> Answer:
        """Send one read request and wait up to ``within`` seconds for its answer.

        Raises :class:`NoAnswer` (nothing, or the connection went away),
        :class:`BadAnswer` (something came that is not the answer) or :class:`WriteRefused`
        (a function code other than the reads 1-4: never sent).
        """
        if not 1 <= function <= 4:
            raise WriteRefused(f"function code {function} refused: this agent only reads (codes 1-4)")
        transport = self._transport
        if transport is None or self.closed:
            raise NoAnswer("connection lost")
        self._transaction = self._transaction % 0xFFFF + 1
        frame = _REQUEST.pack(self._transaction, 0, 6, unit, function, address, count)
        return await self._ask(transport, unit, function, count, frame, within)

    async def identification(self, unit: int, read_code: int, object_id: int, within: float) -> Answer:
        """Send one Read Device Identification (FC 43 / MEI 14) and wait for its page.

        Raises as :meth:`read` does; an answer that is no page is a :class:`BadAnswer`.
        """
        transport = self._transport
        if transport is None or self.closed:
            raise NoAnswer("connection lost")
        self._transaction = self._transaction % 0xFFFF + 1
        pdu = mei.request(read_code, object_id)
        frame = _HEADER.pack(self._transaction, 0, len(pdu) + 1, unit) + pdu
        return await self._ask(transport, unit, mei.FUNCTION, 0, frame, within)

    async def _ask(
        self, transport: asyncio.Transport, unit: int, function: int, count: int, frame: bytes, within: float
    ) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting = _Waiting(self._transaction, unit, function, count, future)
        self._rejected = 0
        transport.write(frame)
        try:
            async with asyncio.timeout(within):
                return await future
        except TimeoutError:
            if self._rejected:
                raise BadAnswer(
                    f"{self._rejected} answer frame(s) rejected: wrong transaction id, "
                    "wrong unit id or bad checksum"
                ) from None
            if self._buffer:
                self._count_rejected()
                raise BadAnswer(
                    f"{len(self._buffer)} bytes arrived that never formed an answer "
                    "(cut short, or garbage on the line)"
                ) from None
            raise NoAnswer(f"no answer within {within:g}s") from None
        finally:
            self._waiting = None

    # --- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the connection's transport."""
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        """The device or the network closed it: a waiting read fails at once."""
        self.closed = True
        self._settle(NoAnswer(f"connection lost ({exc or 'closed by the device'})"))

    def data_received(self, data: bytes) -> None:
        """Take every complete frame from what arrived; the rest waits for more bytes."""
        buffer = self._buffer
        buffer += data
        while len(buffer) >= _HEADER.size + 1:
            transaction, protocol, length, unit = _HEADER.unpack_from(buffer)
            if protocol != 0 or not 2 <= length <= _MAX_LENGTH:
                # Not a Modbus TCP header: the stream is out of step and cannot be read on.
                self._count_rejected()
                self._settle(
                    BadAnswer(
                        f"{len(buffer)} bytes arrived that never formed an answer "
                        "(cut short, or garbage on the line)"
                    )
                )
                buffer.clear()
                return
            end = 6 + length
            if len(buffer) < end:
                return
            pdu = bytes(buffer[_HEADER.size : end])
            del buffer[:end]
            waiting = self._waiting
            if (
                waiting is None
                or waiting.future.done()
                or transaction != waiting.transaction
                or unit != waiting.unit
            ):
                # A late answer to a request given up, or someone else's: skipped, counted.
                self._count_rejected()
                continue
            self._settle(self._answer(waiting, pdu))

    # --- the answer -----------------------------------------------------------------------------

    def _answer(self, waiting: _Waiting, pdu: bytes) -> Answer | BadAnswer:
        function, count = pdu[0], waiting.count
        if function & 0x7F != waiting.function:
            self._count_rejected()
            return BadAnswer(f"answer carries function code {function}, the request was {waiting.function}")
        if function & 0x80:
            if len(pdu) != 2:
                self._count_rejected()
                return BadAnswer(
                    f"undecodable answer of {len(pdu) + 7} bytes (an exception of {len(pdu)} bytes)"
                )
            return Answer([], pdu[1])
        if function == mei.FUNCTION:
            try:
                return Answer([], None, mei.parse(pdu))
            except mei.PageError as exc:
                self._count_rejected()
                return BadAnswer(f"undecodable identification: {exc}")
        size = pdu[1] if len(pdu) > 1 else -1
        if size != len(pdu) - 2:
            self._count_rejected()
            return BadAnswer(
                f"undecodable answer of {len(pdu) + 7} bytes (byte count {size}, {len(pdu) - 2} data bytes)"
            )
        if function <= 2:
            expected = (count + 7) // 8
            if size != expected:
                self._count_rejected()
                return BadAnswer(f"{size} data bytes for {count} bits (expected {expected})")
            return Answer([bool(pdu[2 + i // 8] >> (i % 8) & 1) for i in range(count)])
        if size != 2 * count:
            self._count_rejected()
            return BadAnswer(f"{size} data bytes for {count} registers (expected {2 * count})")
        return Answer(list(struct.unpack_from(f">{count}H", pdu, 2)))

    def _settle(self, outcome: Answer | Exception) -> None:
        waiting = self._waiting
        if waiting is None or waiting.future.done():
            return
        if isinstance(outcome, Answer):
            waiting.future.set_result(outcome)
        else:
            waiting.future.set_exception(outcome)

    def _count_rejected(self) -> None:
        self._rejected += 1
        self._stats.rejected_frames += 1
