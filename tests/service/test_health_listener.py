"""The health listener (aiohttp.web) as a scraper and a prober meet it, against a real socket."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from edge_agent import __version__
from edge_agent.config import load
from edge_agent.health import HealthServer
from edge_agent.inforce import InForce
from edge_agent.status import AgentStatus, DeviceStatus
from tests.support.ports import LOOPBACK, free_port


def status_of(devices: int) -> AgentStatus:
    status = AgentStatus()
    for i in range(devices):
        device = DeviceStatus(f"meter-{i}", "modbus", 10.0, polls=5, last_ok_ms=1_700_000_000_000)
        status.devices[device.name] = device
    return status


def in_force(tmp_path: Path) -> InForce:
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\nschool = "sh-test"\nstate_dir = "{tmp_path / "state"}"\n')
    return InForce.of(load(config, bundle=None))


async def nothing() -> None:
    return None


async def test_metrics_stream_every_device_and_healthz_reports(tmp_path: Path) -> None:
    server = HealthServer(status_of(300), in_force(tmp_path), nothing)
    listen = f"{LOOPBACK}:{free_port()}"
    assert await server.start(listen)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://{listen}/metrics") as response:
                assert response.status == 200
                assert response.headers["Transfer-Encoding"] == "chunked"  # never held whole
                assert response.headers["Server"] == f"edge-agent/{__version__}"
                text = await response.text()
            families = {f.name: f for f in text_string_to_metric_families(text)}
            assert len(families["edge_agent_device_up"].samples) == 300
            async with session.head(f"http://{listen}/metrics") as response:
                assert response.status == 200 and await response.read() == b""
            async with session.get(f"http://{listen}/healthz") as response:
                report = await response.json()
                assert response.status == 200 and report["school"] == "sh-test"
            async with session.get(f"http://{listen}/nothing-here") as response:
                assert response.status == 404
            async with session.post(f"http://{listen}/healthz") as response:
                assert response.status == 405
    finally:
        await server.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session, session.get(f"http://{listen}/healthz"):
            pass


async def test_a_failing_answer_is_a_500_and_a_line_in_the_log(tmp_path: Path) -> None:
    async def broken() -> None:
        raise RuntimeError("snapshot exploded")

    server = HealthServer(status_of(1), in_force(tmp_path), broken)
    listen = f"{LOOPBACK}:{free_port()}"
    assert await server.start(listen)
    try:
        with capture_logs() as logs:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://{listen}/healthz") as response,
            ):
                assert response.status == 500
                assert "see the agent's log" in await response.text()
        [line] = [e for e in logs if e["event"] == "health listener: answering a request failed"]
        assert line["path"] == "/healthz" and "snapshot exploded" in line["error"]
    finally:
        await server.stop()


async def test_a_taken_port_leaves_the_agent_without_a_listener_and_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        listen = f"{LOOPBACK}:{taken.getsockname()[1]}"
        server = HealthServer(status_of(1), in_force(tmp_path), nothing)
        with capture_logs() as logs:
            assert not await server.start(listen)
        assert server.listen == ""
        [line] = [e for e in logs if e["event"].startswith("health listener cannot listen")]
        assert line["listen"] == listen and line["log_level"] == "error"
        await server.stop()  # nothing to stop: no error either
    await asyncio.sleep(0)
