"""Modbus TCP framing (mbap.py) against a scripted server on loopback: what a device may
answer besides registers, and what it must not."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Callable

import pytest

from drivers.modbus.errors import BadAnswer, LinkStats, NoAnswer, WriteRefused
from drivers.modbus.mbap import Answer, MbapConnection
from tests.support.ports import LOOPBACK

Reply = Callable[[int, int, int, int, int], bytes]
"""(transaction, unit, function, address, count) -> the bytes to send back."""


def mbap(transaction: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


@contextlib.asynccontextmanager
async def device(
    reply: Reply, hang_up: bool = False
) -> AsyncIterator[tuple[MbapConnection, LinkStats, list[bytes]]]:
    """A server answering every request with ``reply`` (or hanging up at once), and a connection to it."""
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            if hang_up:
                raise ConnectionError
            while True:
                request = await reader.readexactly(12)
                requests.append(request)
                transaction, _, _, unit, function, address, count = struct.unpack(">HHHBBHH", request)
                writer.write(reply(transaction, unit, function, address, count))
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, LOOPBACK, 0)
    stats = LinkStats()
    connection = await MbapConnection.open(LOOPBACK, server.sockets[0].getsockname()[1], stats)
    try:
        yield connection, stats, requests
    finally:
        connection.close()
        server.close()
        await server.wait_closed()


async def test_registers_and_the_request_on_the_wire() -> None:
    def reply(t: int, u: int, f: int, a: int, c: int) -> bytes:
        return mbap(t, u, bytes([f, 2 * c]) + b"".join(struct.pack(">H", a + i) for i in range(c)))

    async with device(reply) as (connection, stats, requests):
        assert await connection.read(7, 3, 100, 3, 2.0) == Answer([100, 101, 102])
        assert await connection.read(7, 4, 0, 1, 2.0) == Answer([0])
    # Transaction ids count up; protocol 0, length 6, unit, function, address, count.
    assert requests == [
        struct.pack(">HHHBBHH", 1, 0, 6, 7, 3, 100, 3),
        struct.pack(">HHHBBHH", 2, 0, 6, 7, 4, 0, 1),
    ]
    assert stats.rejected_frames == 0


async def test_bits_come_back_least_significant_first_cut_to_the_count() -> None:
    coils = bytes([0b1000_0101, 0b0000_0010])
    async with device(lambda t, u, f, a, c: mbap(t, u, bytes([f, 2]) + coils)) as (connection, _, _):
        answer = await connection.read(1, 1, 0, 10, 2.0)
    assert answer == Answer([True, False, True, False, False, False, False, True, False, True])


async def test_an_exception_answer_carries_its_code() -> None:
    async with device(lambda t, u, f, a, c: mbap(t, u, bytes([f | 0x80, 2]))) as (connection, stats, _):
        assert await connection.read(1, 3, 9999, 1, 2.0) == Answer([], 2)
    assert stats.rejected_frames == 0


@pytest.mark.parametrize(
    ("pdu", "reason"),
    [
        (lambda f, c: bytes([f | 0x80, 2, 0]), "an exception of 3 bytes"),
        (lambda f, c: bytes([f, 2 * c]) + b"\x00" * (2 * c - 1), "byte count 4, 3 data bytes"),
        (lambda f, c: bytes([f, 2 * c + 2]) + b"\x00" * (2 * c + 2), "6 data bytes for 2 registers"),
        (lambda f, c: bytes([f ^ 1, 2 * c]) + b"\x00" * (2 * c), "function code 2, the request was 3"),
    ],
)
async def test_a_malformed_answer_fails_at_once_and_is_counted(
    pdu: Callable[[int, int], bytes], reason: str
) -> None:
    async with device(lambda t, u, f, a, c: mbap(t, u, pdu(f, c))) as (connection, stats, _):
        with pytest.raises(BadAnswer, match=reason):
            await connection.read(1, 3, 0, 2, 5.0)
    assert stats.rejected_frames == 1


async def test_a_late_answer_is_skipped_and_the_next_one_taken() -> None:
    """An answer to a request given up arrives after the next request went out."""
    answered: list[int] = []

    def reply(t: int, u: int, f: int, a: int, c: int) -> bytes:
        answered.append(t)
        if t == 1:
            return b""  # no answer now: it comes with the next one
        return mbap(1, u, bytes([f, 2, 0, 1])) + mbap(t, u, bytes([f, 2, 0, 2]))

    async with device(reply) as (connection, stats, _):
        with pytest.raises(NoAnswer, match=r"no answer within 0\.2s"):
            await connection.read(1, 3, 0, 1, 0.2)
        assert await connection.read(1, 3, 0, 1, 2.0) == Answer([2])
    assert stats.rejected_frames == 1 and answered == [1, 2]


async def test_only_reads_can_be_framed() -> None:
    async with device(lambda t, u, f, a, c: b"") as (connection, _, requests):
        for function in (5, 6, 15, 16):
            with pytest.raises(WriteRefused, match="this agent only reads"):
                await connection.read(1, function, 0, 1, 1.0)
    assert requests == []


async def test_a_device_that_hangs_up_fails_the_read_without_waiting_the_timeout() -> None:
    async with device(lambda t, u, f, a, c: b"", hang_up=True) as (connection, _, _):
        with pytest.raises(NoAnswer, match="connection lost"):
            async with asyncio.timeout(5):  # the read's own timeout is 60 s
                await connection.read(1, 3, 0, 1, 60.0)
        assert connection.closed
