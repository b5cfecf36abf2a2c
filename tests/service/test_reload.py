"""SIGHUP (``systemctl reload``) on a running agent polling the simulated campus.

A broken config is refused with every problem in the log and the agent goes on as it was;
a good one adding a device gets that device polled while the others keep their pollers
(their poll counts go on from where they were), and no reading is lost on the way.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from edge_agent.agent import Agent
from edge_agent.buffer import DiskBuffer
from edge_agent.config import load
from tests.support.processes import SimulatedCampus, wait_for
from tests.support.victoriametrics import VictoriaMetrics

from .helpers import ServiceAgent, agent_toml, campus_devices, devices_in, free_listen, healthz

pytestmark = pytest.mark.integration

BROKEN = """
[agent]
school = "sh-test"
interval = "fast"

[[devices.modbus]]
name = "classroom-9"
host = "127.0.0.1"
prot = 502
profile = "classroom-iaq"
"""


def polls(listen: str) -> dict[str, int]:
    answer = healthz(listen)
    return {} if answer is None else {n: d["polls"] for n, d in devices_in(answer[1]).items()}


def buffered_points(path: Path) -> dict[str, int]:
    """Points per device tag in the buffer (no sink: everything polled stays there)."""
    disk = DiskBuffer(path, [], 10**9, readonly=True)
    try:
        lines = disk.tail(10**9)
    finally:
        disk.close()
    counts: dict[str, int] = {}
    for line in lines:
        if line.startswith(("edge_agent_device,", "asset,")):
            continue  # the agent's own points about the device (liveness, identity), not readings
        tags = dict(t.split("=", 1) for t in line.split(" ", 1)[0].split(",")[1:])
        if "device" in tags:
            counts[tags["device"]] = counts.get(tags["device"], 0) + 1
    return counts


def test_sighup_refuses_a_broken_config_then_applies_a_good_one(
    tmp_path: Path, campus: SimulatedCampus
) -> None:
    campus.start()
    devices = campus_devices(campus)
    first = ["classroom-1", "classroom-2", "meter-1"]
    listen = free_listen()
    config = tmp_path / "agent.toml"
    good = agent_toml([devices[n] for n in first], listen=listen)
    config.write_text(good)
    agent = ServiceAgent(config)
    agent.start()
    try:
        wait_for(
            lambda: set(polls(listen)) == set(first) and min(polls(listen).values()) >= 5,
            30,
            what="the first three devices polled",
        )

        config.write_text(BROKEN)
        agent.process.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
        refused = wait_for(
            lambda: [e for e in agent.log_events() if e["event"].startswith("new config refused")],
            30,
            what="the refusal in the log",
        )
        problems = refused[0]["problems"]
        assert any("agent.interval" in p and "'fast'" in p for p in problems), problems
        assert any("devices.modbus[0].prot" in p and "unknown key" in p for p in problems), problems
        assert refused[0]["level"] == "error"
        before = polls(listen)
        wait_for(lambda: all(polls(listen)[n] > before[n] for n in first), 30, what="polling going on")
        report = healthz(listen)[1]  # type: ignore[index]
        assert report["reload_failures"] == 1 and report["reloads"] == 0
        assert "agent.interval" in report["last_reload_error"]

        config.write_text(agent_toml([devices[n] for n in [*first, "machine-1"]], listen=listen))
        before = polls(listen)
        agent.process.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
        wait_for(lambda: polls(listen).get("machine-1", 0) >= 3, 30, what="the added device polled")
        after = polls(listen)
        # Same pollers as before: their counts went on, none started again from zero.
        assert all(after[n] >= before[n] for n in first), (before, after)
        [reloaded] = [e for e in agent.log_events() if e["event"] == "config reloaded"]
        assert reloaded["added"] == ["machine-1"] and reloaded["changed"] == [] and reloaded["unchanged"] == 3
        assert healthz(listen)[1]["reloads"] == 1  # type: ignore[index]
        assert agent.running()

        campus.stop()  # no more answers: every poll served is now on its way into the buffer
        wait_for(
            lambda: all(d["consecutive_failures"] for d in healthz(listen)[1]["devices"]),  # type: ignore[index]
            30,
            what="every device failing",
        )
        assert agent.stop() == 0
    finally:
        if agent.running():
            agent.kill()
    # Every poll a device answered, before, during and after the reloads, is in the buffer.
    served = {device: len(times) for device, times in campus.served_polls().items()}
    assert buffered_points(tmp_path / "state" / "buffer.db") == served


def test_a_changed_device_is_restarted_and_a_removed_one_stopped(
    tmp_path: Path, campus: SimulatedCampus
) -> None:
    campus.start()
    devices = campus_devices(campus)
    listen = free_listen()
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml([devices["classroom-1"], devices["meter-1"]], listen=listen))
    agent = ServiceAgent(config)
    agent.start()
    try:
        wait_for(lambda: min(polls(listen).values(), default=0) >= 5, 30, what="both devices polled")
        moved = devices["classroom-1"].replace('room = "101"', 'room = "201"')
        config.write_text(agent_toml([moved], listen=listen))
        agent.process.send_signal(signal.SIGHUP)  # type: ignore[union-attr]
        wait_for(
            lambda: [e for e in agent.log_events() if e["event"] == "config reloaded"], 30, what="the reload"
        )
        [reloaded] = [e for e in agent.log_events() if e["event"] == "config reloaded"]
        assert reloaded["changed"] == ["classroom-1"] and reloaded["removed"] == ["meter-1"]
        wait_for(
            lambda: list(polls(listen)) == ["classroom-1"] and polls(listen)["classroom-1"] >= 2,
            30,
            what="only classroom-1, polled again",
        )
        assert agent.stop() == 0
    finally:
        if agent.running():
            agent.kill()
    disk = DiskBuffer(tmp_path / "state" / "buffer.db", [], 10**9, readonly=True)
    try:
        rooms = {
            line.split("room=")[1].split(",")[0].split(" ")[0]
            for line in disk.tail(10**9)
            if "device=classroom-1" in line
        }
    finally:
        disk.close()
    assert rooms == {"101", "201"}  # its points before the reload and after, with the new tag


async def test_new_sink_settings_restart_the_forwarder_and_lose_nothing(
    tmp_path: Path, campus: SimulatedCampus, store: VictoriaMetrics
) -> None:
    await asyncio.to_thread(campus.start)
    devices = list((await asyncio.to_thread(campus_devices, campus)).values())
    config = tmp_path / "agent.toml"

    def write(timeout: str, state_dir: str = "state") -> None:
        sink = (
            f'[[sinks.influxdb]]\nname = "city"\nurl = "{store.url}"\nbucket = "b"\ntimeout = "{timeout}"\n'
        )
        config.write_text(
            agent_toml(devices, sink=sink).replace('state_dir = "state"', f'state_dir = "{state_dir}"')
        )

    write("3s")
    agent = Agent(load(config), config)
    running = asyncio.create_task(agent.run())
    try:
        await asyncio.sleep(1.5)
        sent_before = agent.status.sinks["city"].sent_points
        assert sent_before > 0
        write("4s", state_dir="elsewhere")
        with capture_logs() as logged:
            agent.reload()
            await asyncio.sleep(1.5)
        [reloaded] = [e for e in logged if e["event"] == "config reloaded"]
        assert reloaded["sinks"] == "restarted" and reloaded["unchanged"] == len(devices)
        [later] = [e for e in logged if e["event"].startswith("some changes take effect only at the next")]
        assert later["keys"] == ["agent.state_dir"]
        assert agent.status.reloads == 1
        assert agent.config.sinks.influxdb[0].timeout == 4.0  # the new sink is the one sending
        assert agent.config.agent.state_dir == tmp_path / "state"  # moving the buffer waits for a restart
        assert agent.status.sinks["city"].sent_points > sent_before
        await asyncio.to_thread(campus.stop)
        await asyncio.sleep(1)
    finally:
        agent.stop()
        await running
    served = {device: len(times) for device, times in campus.served_polls().items()}
    stored: dict[str, set[int]] = {}
    points = await asyncio.to_thread(store.points, '{school="sh-test",device!=""}')
    for (name, labels), values in points.items():
        if name.startswith(("edge_agent_device_", "asset_")):
            continue  # the agent's own points about its devices (liveness, identity)
        stored.setdefault(dict(labels)["device"], set()).update(values)
    assert {device: len(times) for device, times in stored.items()} == served
