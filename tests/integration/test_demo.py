"""``edge-agent demo``: the simulated campus, a local store and the agent, shown live."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from campus_core.clock import now_ms
from campus_core.readings import Reading
from edge_agent.demo import (
    ALERTS_PORT,
    BROKER_PORT,
    CONSOLE_PORT,
    OPCUA_PORTS,
    RULES_DIR,
    SIM_PORTS,
    STORE_PORT,
    render,
)
from edge_agent.demo_city import RULES_INTERVAL, demo_rules
from edge_agent.demo_keys import CONTROL_PORT, STOPPABLE, Keys
from edge_agent.status import AgentStatus, DeviceStatus, SinkStatus
from tests.support.processes import SimulatedCampus, until

pytestmark = pytest.mark.integration


def _busy(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


# The demo runs on fixed ports, as a person runs it (README): where a demo is running on this
# machine already, a second cannot start, and the tests that run one whole are skipped. CI's
# machines run none.
needs_the_demos_ports = pytest.mark.skipif(
    any(
        _busy(p)
        for p in [STORE_PORT, BROKER_PORT, ALERTS_PORT, CONSOLE_PORT, CONTROL_PORT, *SIM_PORTS, *OPCUA_PORTS]
    ),
    reason="the demo's fixed ports are in use on this machine",
)


def test_the_view_shows_devices_values_and_the_flow(tmp_path: Path) -> None:
    status = AgentStatus()
    reading = Reading.of("meter-1", 1, (("voltage_l1_v", 229.71), ("running", True)))
    status.devices["meter-1"] = DeviceStatus(
        "meter-1",
        "modbus",
        5.0,
        polls=3,
        last_ok_ms=1,
        last_reading=reading,
        fields_sent=24,
        fields_suppressed=12,
    )
    status.devices["machine-1"] = DeviceStatus(
        "machine-1", "modbus", 1.0, polls=2, failures=2, consecutive_failures=2, last_error="cannot connect"
    )
    # A pushed device whose session is up, with nothing sent yet: quiet, and alive. Behind
    # its wildcard, the sensor of room 201 sent a moment ago, the one of 202 long ago.
    now = now_ms()
    status.devices["wireless-iaq"] = DeviceStatus(
        "wireless-iaq",
        "mqtt",
        2.0,
        connected=lambda: True,
        sensors={
            (("building", "B"), ("room", "201")): now - 2_000,
            (("building", "B"), ("room", "202")): now - 600_000,
        },
    )
    status.sinks["city"] = SinkStatus("city", "http://127.0.0.1:8428", sent_points=40)
    status.points_accepted = status.points_buffered = 42
    text = render(status, True, tmp_path / "agent.log", console=f"http://127.0.0.1:{CONSOLE_PORT}/")
    assert text.splitlines()[1].startswith(
        f"look here first, the city console: http://127.0.0.1:{CONSOLE_PORT}/"
    )
    assert "press s to stop machine-2" in text and "python -m simulators ctl stop machine-2" in text
    assert "meter-1      up" in text and "voltage_l1_v=229.7 running=True" in text
    assert "machine-1    down" in text and "cannot connect" in text
    assert "wireless-iaq up" in text
    assert any(line.startswith("  B 201      up") for line in text.splitlines())
    assert any(line.startswith("  B 202      down") for line in text.splitlines())
    assert "SENT    HELD" in text and "      3      24      12 " in text  # meter-1: polls, sent, held
    assert "fields    sent 24   held back (reported on change, not moved) 12   33 % held back" in text
    assert "accepted 42" in text and "sent 40  waiting 2  ok" in text


@needs_the_demos_ports
def test_the_demo_runs_and_shows_readings_sent(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edge_agent", "demo", "--state-dir", str(tmp_path), "--duration", "8"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    last_frame = result.stdout.split("\x1b[H\x1b[2J")[-2]
    for device in (
        "classroom-1",
        "meter-2",
        "machine-2",
        "switch-1",
        "ups-1",
        "wireless-iaq",
        "cnc-1",
        "rig-1",
        "ahu-1",
        "vav-2",
    ):
        assert f"{device:<12} up" in last_frame
    sent = int(last_frame.split(" sent ")[1].split()[0])
    assert sent > 0
    # The classrooms, meters, wireless sensors and HVAC report on change: fields that did not
    # move past their deadband are held back.
    held = int(last_frame.split("held back (reported on change, not moved) ")[1].split()[0])
    assert held > 0
    # vmalert ran beside the store with the central rules, and the view names the console first.
    assert f"API http://127.0.0.1:{ALERTS_PORT}/api/v1/alerts" in last_frame
    assert f"the city console: http://127.0.0.1:{CONSOLE_PORT}/" in last_frame.splitlines()[1]
    assert "/vmui" not in last_frame
    assert (tmp_path / "rules" / "recording.yml").exists()
    assert "demo stopped" in result.stdout
    assert (tmp_path / "agent.log").read_text().count('"agent started"') == 1
    assert (tmp_path / "agent" / "buffer.db").exists()


@needs_the_demos_ports
def test_the_demos_register_holds_the_whole_campus(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edge_agent", "demo", "--state-dir", str(tmp_path), "--duration", "15"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    register = json.loads((tmp_path / "agent" / "assets.json").read_text())
    stated = {(a["device"], dict(a["tags"]).get("room", "")): dict(a["stated"]) for a in register["assets"]}
    devices = {device for device, _ in stated}
    assert devices == {
        *(f"classroom-{i}" for i in (1, 2, 3)),
        "meter-1",
        "meter-2",
        "machine-1",
        "machine-2",
        "switch-1",
        "ups-1",
        "cnc-1",
        "rig-1",
        "wireless-iaq",
        "ahu-1",
        *(f"vav-{i}" for i in (1, 2, 3)),
        "@gateway",
    }
    assert all(identity["source"] == "device" for identity in stated.values())
    assert all("firmware" in identity for identity in stated.values())
    sensors = [room for device, room in stated if device == "wireless-iaq"]
    assert len(sensors) == 2  # each wireless sensor is an asset of its own


def test_the_demo_names_the_ports_it_cannot_have(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past an earlier demo's TIME_WAIT
        try:
            holder.bind(("127.0.0.1", BROKER_PORT))
        except OSError:
            pytest.skip(f"port {BROKER_PORT} is taken by something else on this machine")
        holder.listen()
        result = subprocess.run(
            [sys.executable, "-m", "edge_agent", "demo", "--state-dir", str(tmp_path), "--duration", "1"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"{BROKER_PORT}" in result.stderr and "are in use" in result.stderr


def test_the_demos_rules_are_the_central_rules_evaluated_more_often(tmp_path: Path) -> None:
    copies = demo_rules(tmp_path)
    assert [copy.name for copy in copies] == sorted(path.name for path in RULES_DIR.glob("*.yml"))
    for copy in copies:
        original = yaml.safe_load((RULES_DIR / copy.name).read_text())
        demo = yaml.safe_load(copy.read_text())
        assert [group.pop("interval") for group in demo["groups"]] == [RULES_INTERVAL] * len(demo["groups"])
        for group in original["groups"]:
            group.pop("interval", None)
        assert demo == original, copy.name


async def test_the_key_s_stops_and_starts_the_stoppable_device(tmp_path: Path) -> None:
    campus = SimulatedCampus(tmp_path, classrooms=0, meters=0, machines=2, control=True)
    campus.start()
    keys = Keys(asyncio.get_running_loop(), campus.control_port or 0)
    acting = asyncio.create_task(keys.serve())
    try:
        keys.pressed.put_nowait("x")  # other keys do nothing
        keys.pressed.put_nowait("s")
        await until(lambda: keys.stopped, 30, "the first s")
        assert keys.said.endswith(f"{STOPPABLE} stopped")
        assert f"{STOPPABLE}=stopped" in campus.ctl("status").stdout
        keys.pressed.put_nowait("S")
        await until(lambda: not keys.stopped, 30, "the second s")
        assert keys.said.endswith(f"{STOPPABLE} started")
    finally:
        acting.cancel()
        campus.stop()
