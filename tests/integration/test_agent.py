"""The agent in-process against the simulated campus: one silent device stalls no other."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import pytest

from edge_agent.agent import Agent
from edge_agent.buffer import DiskBuffer
from edge_agent.config import load
from edge_agent.forwarder import Forwarder
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import SimulatedCampus

pytestmark = pytest.mark.integration


async def silent_server() -> tuple[asyncio.Server, int]:
    """Accepts connections and never answers: a device whose firmware hung."""
    connections: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        with contextlib.suppress(ConnectionError):
            await reader.read()

    port = free_port()
    return await asyncio.start_server(hold, LOOPBACK, port), port


async def test_a_silent_device_does_not_delay_the_others(tmp_path: Path, campus: SimulatedCampus) -> None:
    await asyncio.to_thread(campus.start)
    server, silent_port = await silent_server()
    config = tmp_path / "agent.toml"
    config.write_text(f"""
[agent]
school = "sh-test"
interval = "200ms"
state_dir = "state"
[buffer]
flush_interval = "200ms"

[[devices.modbus]]
name = "hung-plc"
host = "127.0.0.1"
port = {silent_port}
timeout = "1s"
measurement = "plc"
  [[devices.modbus.registers]]
  field = "state"
  address = 0

[[devices.modbus]]
name = "gone"
host = "127.0.0.1"
port = {free_port()}
measurement = "plc"
  [[devices.modbus.registers]]
  field = "state"
  address = 0

{await asyncio.to_thread(campus.config)}
""")
    agent = Agent(load(config))
    running = asyncio.create_task(agent.run())
    await asyncio.sleep(3)
    agent.stop()
    await running
    server.close()

    devices = agent.status.devices
    hung, gone = devices.pop("hung-plc"), devices.pop("gone")
    assert hung.failures >= 1 and not hung.up
    assert "no answer from" in (hung.last_error or "")
    assert "cannot connect" in (gone.last_error or "")
    assert gone.failures >= 2  # retried with backoff, not given up
    for device in devices.values():
        # 3 s at 200 ms: about 15 polls; the hung device's 1 s timeouts cost the others nothing.
        assert device.polls >= 10, device
        assert device.failures == 0 and device.up
    assert agent.status.points_buffered == agent.status.points_accepted > 40


async def test_a_device_that_comes_back_is_polled_again(tmp_path: Path, campus: SimulatedCampus) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(f"""
[agent]
school = "sh-test"
interval = "200ms"
state_dir = "state"
{await asyncio.to_thread(campus.config)}
""")
    agent = Agent(load(config))
    running = asyncio.create_task(agent.run())
    await asyncio.sleep(1.5)  # nothing answers yet
    assert all(not d.up and d.failures >= 1 for d in agent.status.devices.values())
    await asyncio.to_thread(campus.start)
    await asyncio.sleep(4)
    agent.stop()
    await running
    assert all(d.up for d in agent.status.devices.values()), agent.status.devices


async def test_a_worker_that_dies_while_the_agent_starts_stops_it_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that kills the forwarder at once must stop the agent (systemd restarts it), not leave
    it polling and buffering with nothing ever sent."""

    async def broken(self: Forwarder) -> None:
        raise RuntimeError("the forwarder fell over")

    monkeypatch.setattr(Forwarder, "run", broken)  # the fault injected; everything else is real
    listen_port = free_port()
    config = tmp_path / "agent.toml"
    config.write_text(f"""
[agent]
school = "sh-test"
interval = "200ms"
state_dir = "state"
[health]
listen = "127.0.0.1:{listen_port}"  # starting it yields to the loop: the forwarder dies meanwhile
[[sinks.influxdb]]
url = "http://127.0.0.1:{free_port()}"
bucket = "b"
[[devices.modbus]]
name = "gone"
host = "127.0.0.1"
port = {free_port()}
measurement = "plc"
  [[devices.modbus.registers]]
  field = "state"
  address = 0
""")
    agent = Agent(load(config))
    running = asyncio.create_task(agent.run())
    done, _ = await asyncio.wait({running}, timeout=30)
    if not done:  # still polling with nothing sent: the failure went unnoticed
        agent.stop()
        await asyncio.gather(running, return_exceptions=True)
    assert done, "the agent kept running without its forwarder"
    with pytest.raises(RuntimeError, match="the forwarder fell over"):
        running.result()
    # ... after a whole shutdown: the listener closed, the buffer closed cleanly.
    with socket.create_server((LOOPBACK, listen_port)):
        pass
    disk = DiskBuffer(tmp_path / "state" / "buffer.db", ["influxdb-127.0.0.1-b"], 10**9)
    assert disk.was_clean
    disk.close()
