"""The SNMPv1/v2c socket every device shares: answers matched to requests, retries, timeouts.

Agents here are real UDP sockets on loopback: the simulators' agent, and a scripted
"hostile" one that answers with garbage, with the wrong community or version, with an
unknown request-id or from another port before (or instead of) the real answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import pytest

from drivers.snmp import SnmpDevice
from drivers.snmp.convert import Raw
from drivers.snmp.session import EnginePool, Session, SnmpError
from simulators.snmp import ber as agent_ber
from simulators.snmp.agent import SimulatedAgent
from simulators.snmp.switch import Switch
from tests.support.fds import open_sockets

SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)

Script = Callable[[agent_ber.Request, int], list[bytes]]
"""The datagrams to send back for a request, given it and how many came so far."""
MakeAgent = Callable[..., Awaitable["ScriptedAgent"]]
"""Starts a :class:`ScriptedAgent`: ``await make(script, host="127.0.0.1")``."""


class ScriptedAgent(asyncio.DatagramProtocol):
    """A UDP 'agent' on loopback that answers each request with what its script says."""

    def __init__(self, script: Script, host: str = "127.0.0.1") -> None:
        self.script = script
        self.host = host
        self.received: list[bytes] = []
        #: Where the last request came from (the agent's shared socket).
        self.sender: tuple[Any, ...] = ()
        self.port = 0
        self.transport: asyncio.DatagramTransport | None = None
        self.later: list[asyncio.TimerHandle] = []

    async def start(self) -> None:
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: self, local_addr=(self.host, 0))
        assert self.transport is not None
        self.port = int(self.transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        for handle in self.later:
            handle.cancel()
        if self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.received.append(data)
        self.sender = addr
        for reply in self.script(agent_ber.decode_request(data), len(self.received)):
            self.send(reply, addr)

    def send(self, data: bytes, addr: tuple[Any, ...], delay: float = 0.0) -> None:
        assert self.transport is not None
        if delay:
            self.later.append(asyncio.get_running_loop().call_later(delay, self.send, data, addr))
        else:
            self.transport.sendto(data, addr)


def answer(request: agent_ber.Request, text: bytes = b"switch-1", **changes: Any) -> bytes:
    """A Response to ``request`` with sysName = ``text``, header fields changed as given."""
    request = dataclasses.replace(request, **changes)
    varbind = agent_ber.encode_varbind(SYS_NAME, (agent_ber.OCTET_STRING, text))
    return agent_ber.encode_response(request, [varbind])


@pytest.fixture
def pool() -> EnginePool:
    return EnginePool()  # its own counters, apart from other tests


@pytest.fixture
async def scripted() -> AsyncIterator[MakeAgent]:
    agents: list[ScriptedAgent] = []

    async def make(script: Script, host: str = "127.0.0.1") -> ScriptedAgent:
        agent = ScriptedAgent(script, host)
        await agent.start()
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.close()


def device(port: int, host: str = "127.0.0.1", **settings: Any) -> SnmpDevice:
    return SnmpDevice(
        **{
            "name": "sw",
            "host": host,
            "port": port,
            "timeout": "2s",
            "retries": 0,
            "profile": "system",
            **settings,
        }
    )


async def test_garbage_and_wrong_answers_are_counted_and_dropped_and_the_real_answer_taken(
    pool: EnginePool, scripted: MakeAgent
) -> None:
    other_port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other_port.bind(("127.0.0.1", 0))
    agent: ScriptedAgent

    def hostile(request: agent_ber.Request, count: int) -> list[bytes]:
        real = answer(request)
        other_port.sendto(answer(request, b"from another port"), agent.sender)
        agent.send(real, agent.sender, delay=0.05)  # after all the rest
        return [
            b"\x00 not SNMP at all",
            real[:-3],  # truncated
            answer(request, b"wrong community", community=b"private"),
            answer(request, b"wrong version", version=0),
            answer(request, b"unknown id", request_id=request.request_id ^ 0x5A5A),
        ]

    agent = await scripted(hostile)
    session = Session(device(agent.port), pool)
    await session.open()
    try:
        response = await session.get([SYS_NAME])
    finally:
        session.close()
        other_port.close()
    assert response.status is None
    assert response.varbinds == [(SYS_NAME, Raw("octets", b"switch-1"))]
    assert pool.dropped == Counter(malformed=2, mismatched=3, unexpected=1)
    assert len(agent.received) == 1  # taken at the first try, no retry


async def test_a_lost_request_is_resent_as_the_same_bytes_and_the_answer_to_the_retry_taken(
    pool: EnginePool, scripted: MakeAgent
) -> None:
    agent = await scripted(lambda request, count: [answer(request)] if count == 2 else [])
    session = Session(device(agent.port, timeout="300ms", retries=2), pool)
    await session.open()
    try:
        response = await session.get([SYS_NAME])
    finally:
        session.close()
    assert response.varbinds == [(SYS_NAME, Raw("octets", b"switch-1"))]
    assert len(agent.received) == 2 and agent.received[0] == agent.received[1]  # same request-id
    assert session.requests == Counter(get=1)


async def test_no_answer_costs_timeout_times_tries_and_names_the_community(
    pool: EnginePool, scripted: MakeAgent
) -> None:
    agent = await scripted(lambda request, count: [])
    session = Session(device(agent.port, timeout="200ms", retries=2), pool)
    await session.open()
    started = time.monotonic()
    try:
        with pytest.raises(SnmpError) as caught:
            await session.get([SYS_NAME])
    finally:
        session.close()
    elapsed = time.monotonic() - started
    assert caught.value.timeout
    assert f"no answer from 127.0.0.1:{agent.port} (3 tries of 0.2s)" in caught.value.reason
    assert "is the community right" in caught.value.reason
    assert len(agent.received) == 3 and len(set(agent.received)) == 1
    assert elapsed >= 0.55  # each of the three tries waited out its timeout (no upper bound: shared machines)


async def test_an_answer_after_the_request_gave_up_is_dropped_as_unexpected(
    pool: EnginePool, scripted: MakeAgent
) -> None:
    agent: ScriptedAgent

    def late(request: agent_ber.Request, count: int) -> list[bytes]:
        agent.send(answer(request), agent.sender, delay=0.3)
        return []

    agent = await scripted(late)
    session = Session(device(agent.port, timeout="100ms"), pool)
    await session.open()
    try:
        with pytest.raises(SnmpError):
            await session.get([SYS_NAME])
        await asyncio.sleep(0.4)
        assert pool.dropped == Counter(unexpected=1)
    finally:
        session.close()


async def test_a_cancelled_request_leaves_nothing_waiting(pool: EnginePool, scripted: MakeAgent) -> None:
    agent = await scripted(lambda request, count: [])
    session = Session(device(agent.port, timeout="5s", retries=3), pool)
    await session.open()
    task = asyncio.create_task(session.get([SYS_NAME]))
    await asyncio.sleep(0.05)
    assert pool.in_flight() == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.in_flight() == 0
    session.close()
    assert pool.engines() == 0
    assert len(agent.received) == 1


async def test_many_requests_in_flight_at_once_each_get_their_own_answer(pool: EnginePool) -> None:
    agents = [
        SimulatedAgent(Switch(f"switch-{i}", i, ports=2, clock=time.time), "127.0.0.1", 0) for i in range(3)
    ]
    for agent in agents:
        await agent.start()
    sessions = [Session(device(agents[i % 3].port, name=f"d{i}"), pool) for i in range(150)]
    try:
        for session in sessions:
            await session.open()
        responses = await asyncio.gather(*(s.get([SYS_NAME]) for s in sessions))
    finally:
        for session in sessions:
            session.close()
        for agent in agents:
            agent.close()
    assert [r.varbinds[0][1].octets for r in responses] == [f"switch-{i % 3}".encode() for i in range(150)]
    assert not pool.dropped


async def test_a_wrong_community_gets_no_answer_while_the_right_one_is_read(pool: EnginePool) -> None:
    agent = SimulatedAgent(Switch("switch-1", 1, ports=2, clock=time.time), "127.0.0.1", 0)
    await agent.start()
    good = Session(device(agent.port), pool)
    bad = Session(device(agent.port, community="private", timeout="300ms"), pool)
    try:
        for session in (good, bad):
            await session.open()
        outcome = await asyncio.gather(bad.get([SYS_NAME]), good.get([SYS_NAME]), return_exceptions=True)
    finally:
        good.close()
        bad.close()
        agent.close()
    assert isinstance(outcome[0], SnmpError) and "is the community right" in outcome[0].reason
    assert not isinstance(outcome[1], BaseException) and outcome[1].varbinds[0][1].octets == b"switch-1"
    assert agent.requests["bad_community"] == 1


async def test_ipv6_devices_get_their_own_socket_on_the_same_engine(
    pool: EnginePool, scripted: MakeAgent
) -> None:
    v6 = await scripted(lambda request, count: [answer(request, b"six")], "::1")
    v4 = await scripted(lambda request, count: [answer(request, b"four")])
    sessions = [Session(device(v6.port, host="::1"), pool), Session(device(v4.port), pool)]
    try:
        for session in sessions:
            await session.open()
        answers = [(await s.get([SYS_NAME])).varbinds[0][1].octets for s in sessions]
        assert pool.engines() == 1
    finally:
        for session in sessions:
            session.close()
    assert answers == [b"six", b"four"]


async def test_a_host_name_is_resolved_off_the_loop(pool: EnginePool, scripted: MakeAgent) -> None:
    agent = await scripted(lambda request, count: [answer(request)])
    session = Session(device(agent.port, host="localhost"), pool)
    await session.open()
    try:
        assert (await session.get([SYS_NAME])).varbinds[0][1].octets == b"switch-1"
    finally:
        session.close()


async def test_snmpv1_answers_are_matched_by_version_too(pool: EnginePool) -> None:
    agent = SimulatedAgent(Switch("switch-1", 1, ports=2, clock=time.time), "127.0.0.1", 0)
    await agent.start()
    session = Session(device(agent.port, version="1"), pool)
    await session.open()
    try:
        missing = await session.get([(1, 3, 6, 1, 2, 1, 25, 1, 6, 0)])  # hrSystemProcesses
        found = await session.next([(1, 3, 6, 1, 2, 1, 1, 5)])
    finally:
        session.close()
        agent.close()
    assert (missing.status, missing.index) == ("noSuchName", 1)
    assert found.varbinds == [(SYS_NAME, Raw("octets", b"switch-1"))]


async def test_devices_share_one_socket_and_the_last_one_out_closes_it(
    pool: EnginePool, scripted: MakeAgent
) -> None:
    agent = await scripted(lambda request, count: [answer(request)])
    before = open_sockets()
    sessions = [Session(device(agent.port, name=f"d{i}", community=f"c{i % 3}"), pool) for i in range(20)]
    for session in sessions:
        await session.open()
    await asyncio.gather(*(s.get([SYS_NAME]) for s in sessions))
    assert open_sockets() == before + 1
    for session in sessions[:-1]:
        session.close()
    await asyncio.sleep(0)
    assert open_sockets() == before + 1 and pool.engines() == 1
    sessions[-1].close()
    await asyncio.sleep(0)  # the transport closes its socket on the next loop pass
    assert open_sockets() == before and pool.engines() == 0
