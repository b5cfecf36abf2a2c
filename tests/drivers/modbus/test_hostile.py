"""Hostile answers: frames a real device does not send, so a small scripted server sends them.

Each answer is rejected and counted, the poll fails with a reason naming what was wrong,
and the next poll, answered properly, works: the agent goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Callable

import pytest

from campus_core.readings import DeviceError
from drivers.modbus import ModbusDriver
from drivers.modbus.link import Links
from tests.drivers.modbus.devices import from_profile
from tests.support.ports import LOOPBACK

Answer = Callable[[int, int, int, int], bytes]


def mbap(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def good(tid: int, unit: int, function: int, count: int) -> bytes:
    return mbap(tid, unit, bytes([function, 2 * count]) + b"\x01\x2c" * count)


HOSTILE: dict[str, tuple[Answer, str]] = {
    "one register short": (
        lambda t, u, f, c: mbap(t, u, bytes([f, 2 * (c - 1)]) + b"\x00\x01" * (c - 1)),
        "12 data bytes for 7 registers",
    ),
    "byte count larger than the frame": (
        lambda t, u, f, c: mbap(t, u, bytes([f, 2 * c + 6]) + b"\x00\x01" * c),
        "undecodable answer",
    ),
    "another function code": (
        lambda t, u, f, c: mbap(t, u, bytes([3, 2 * c]) + b"\x00\x01" * c),
        "function code 3",
    ),
    "another transaction id": (lambda t, u, f, c: good(t + 9, u, f, c), "wrong transaction id"),
    "another unit id": (lambda t, u, f, c: good(t, u + 1, f, c), "wrong unit id"),
    "cut short": (lambda t, u, f, c: good(t, u, f, c)[:-3], "never formed an answer"),
    "garbage": (lambda t, u, f, c: b"\xde\xad\xbe\xef" * 4, "never formed an answer"),
}


class ScriptedServer:
    """Answers the first request with ``first``, every later one properly."""

    def __init__(self, first: Answer) -> None:
        self.first = first
        self.requests = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                tid, _, _, unit, function, _, count = struct.unpack(">HHHBBHH", await reader.readexactly(12))
                answer = self.first if self.requests == 0 else good
                self.requests += 1
                writer.write(answer(tid, unit, function, count))
                await writer.drain()
        writer.close()


@pytest.fixture(params=sorted(HOSTILE))
async def hostile(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ScriptedServer, str]]:
    answer, reason = HOSTILE[request.param]
    server = ScriptedServer(answer)
    await server.start()
    yield server, reason
    await server.stop()


async def test_a_hostile_answer_is_rejected_counted_and_the_next_poll_works(
    hostile: tuple[ScriptedServer, str],
) -> None:
    server, reason = hostile
    # classroom-iaq: one request, input registers 0-6.
    device = from_profile(
        "classroom-iaq", name="odd-sensor", host=LOOPBACK, port=server.port, timeout="300ms"
    )
    async with ModbusDriver(device, Links()) as driver:
        with pytest.raises(DeviceError) as failed:
            await driver.poll()
        assert reason in failed.value.reason
        assert f"127.0.0.1:{server.port} (unit 1, input 0-6)" in failed.value.reason
        assert driver.stats.bad_answers == 1 and driver.stats.timeouts == 0
        [reading] = await driver.poll()
        assert dict(reading.fields)["co2_ppm"] == 300.0
        link = driver.link
        assert link is not None
        assert link.stats.bad_answers == 1
        assert link.stats.rejected_frames >= 1
