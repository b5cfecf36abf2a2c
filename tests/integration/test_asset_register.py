"""The asset register end to end: an agent on a simulated campus, VictoriaMetrics, ``campus-ops assets``.

The campus's devices state who they are (Modbus FC 43 and SunSpec, SNMP ENTITY-MIB); the
agent writes them, the gateway too, and ``campus-ops assets`` lists them. A firmware
upgrade is one change; a restart of the agent is none; a device that is down when its
probe is due keeps its row as it was.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from campus_core.identity import Identity
from campus_core.readings import Reading
from edge_agent.assets import AssetRegister
from edge_agent.normalise import PointEncoder
from tests.central.campus import write_lines
from tests.central.rules import alerts
from tests.support.agentconfig import agent_toml
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import AgentProcess, SimulatedCampus, wait_for
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = pytest.mark.integration

DEVICES = {"classroom-1", "classroom-2", "meter-1", "machine-1", "switch-1", "ups-1", "@gateway"}


@dataclass
class City:
    store: VictoriaMetrics
    campus: SimulatedCampus
    agent: AgentProcess


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    work = tmp_path_factory.mktemp("register")
    store = VictoriaMetrics(work / "vm")
    store.start()
    campus = SimulatedCampus(work / "campus", switches=1, ups=1, control=True)
    campus.start()
    sink = f'[[sinks.influxdb]]\nurl = "{store.url}"\nbucket = "campus"\nretry_max = "1s"\n'
    config = work / "agent" / "agent.toml"
    config.parent.mkdir()
    toml = agent_toml([campus.config()], sink=sink, interval="500ms")
    config.write_text(toml.replace('state_dir = "state"', 'state_dir = "state"\nidentity_interval = "4s"'))
    agent = AgentProcess(config)
    agent.start()
    try:
        yield City(store, campus, agent)
    finally:
        if agent.running():
            agent.stop()
        campus.stop()
        store.stop()


def ops(*args: str) -> subprocess.CompletedProcess[str]:
    """``campus-ops ARGS``, as the operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "campus_ops", *args], capture_output=True, text=True, timeout=60
    )


def assets(city: City, *args: str) -> Any:
    city.store._get("/internal/force_flush")
    result = ops("assets", "--store", city.store.url, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if "--json" in args else result.stdout


def rows(city: City) -> dict[str, dict[str, Any]]:
    return {row["device"]: row for row in assets(city, "--json")["assets"]}


def changes(city: City) -> list[dict[str, Any]]:
    return list(assets(city, "--changes", "--json", "--since", "1h")["changes"])


def test_the_register_lists_every_device_of_the_campus_and_the_gateway(city: City) -> None:
    register = wait_for(lambda: (found := rows(city)).keys() >= DEVICES and found, 60, what="every device")
    meter = register["meter-1"]
    assert meter["school"] == "sh-test" and meter["room"] == "plant-1" and meter["protocol"] == "modbus"
    assert meter["vendor"] == "Simulated Metering" and meter["serial"].startswith("EM3-")
    assert meter["first_seen"] <= meter["last_seen"]
    switch = register["switch-1"]
    assert (switch["protocol"], switch["vendor"], switch["model"]) == ("snmp", "Simulated Networks", "SW-4G")
    assert switch["details"]["sys_name"] == "switch-1"
    gateway = register["@gateway"]
    assert gateway["protocol"] == "gateway" and gateway["details"]["agent"]

    table = list(csv.reader(io.StringIO(assets(city, "--csv"))))
    assert table[0] == [
        "school",
        "device",
        "room",
        "asset_id",
        "protocol",
        "vendor",
        "model",
        "firmware",
        "serial",
        "first_seen",
        "last_seen",
    ]
    assert {row[1] for row in table[1:]} >= DEVICES
    text = assets(city, "--school", "sh-test")
    assert "Simulated Metering" in text and "device(s) at 1 school(s)" in text


def test_a_firmware_upgrade_is_one_change_and_the_register_shows_the_new_one(city: City) -> None:
    wait_for(lambda: "meter-1" in rows(city), 60, what="the meter")
    old = rows(city)["meter-1"]["firmware"]
    done = city.campus.ctl("firmware", "meter-1", "9.0.1")
    assert done.returncode == 0, done.stderr
    (change,) = wait_for(
        lambda: [c for c in changes(city) if c["device"] == "meter-1"], 60, what="the change"
    )
    told = (change["school"], change["what"], change["old"], change["new"])
    assert told == ("sh-test", "firmware", old, "9.0.1")
    wait_for(lambda: rows(city)["meter-1"]["firmware"] == "9.0.1", 30, what="the new firmware")
    found = assets(city, "--json", "--find", r"firmware=~9\.0\..*")["assets"]
    assert [(a["school"], a["device"]) for a in found] == [("sh-test", "meter-1")]
    assert "asset changed" in city.agent.log_text()
    # The central rule that tells the city (deploy/central/rules/assets.yml) has every label
    # its summary names on what a real agent wrote.
    (rule,) = [r for r in alerts() if r.name == "AssetChanged"]
    (labels,) = [dict(tags) for _, tags in city.store.points('edge_agent_event_changes{device="meter-1"}')]
    assert rule.summary_labels() <= labels.keys()
    assert labels["room"] == "plant-1" and labels["event"] == "asset_changed"


def test_a_device_down_when_its_probe_is_due_keeps_its_row(city: City) -> None:
    before = wait_for(lambda: rows(city).get("classroom-2"), 60, what="the classroom")
    assert city.campus.ctl("stop", "classroom-2").returncode == 0
    stopped_ms = time.time() * 1000
    try:
        # Two probe intervals pass while it is down: its row is written again, unchanged.
        time.sleep(9)
        during = rows(city)["classroom-2"]
        written = city.store.points('asset_last_seen_s{device="classroom-2"}')
    finally:
        assert city.campus.ctl("start", "classroom-2").returncode == 0
    (samples,) = [v for (_, labels), v in written.items() if ("firmware", before["firmware"]) in labels]
    down = [value for at, value in samples.items() if at > stopped_ms]
    last_up = max((at, value) for at, value in samples.items() if at <= stopped_ms)[1]
    assert down and max(samples) > stopped_ms + 4000  # written while it was down...
    assert set(down) == {last_up}  # ...and with the last seen of before
    identity = ("vendor", "model", "firmware", "serial", "first_seen")
    assert {k: during[k] for k in identity} == {k: before[k] for k in identity}
    assert during["last_seen"] == _iso(last_up)
    assert not [c for c in changes(city) if c["device"] == "classroom-2"]


def test_a_restart_of_the_agent_is_not_a_change(city: City) -> None:
    wait_for(lambda: rows(city).keys() >= DEVICES, 60, what="every device")
    before = len(changes(city))
    assert city.agent.stop() == 0
    city.agent.start()
    started = time.time()

    def written_again() -> dict[str, dict[str, Any]] | None:
        found = rows(city)
        machine = found.get("machine-1")
        return found if machine and machine["last_seen"] >= _iso(started) else None

    restarted = wait_for(written_again, 60, what="the register written after the restart")
    assert restarted.keys() >= DEVICES
    assert len(changes(city)) == before


def test_a_store_that_does_not_answer_is_exit_2() -> None:
    result = ops("assets", "--store", f"http://{LOOPBACK}:{free_port()}", "--timeout", "2s")
    assert result.returncode == 2
    assert "cannot be reached" in result.stderr
    bad = ops("assets", "--store", "http://x", "--find", "firmware=~(")
    assert bad.returncode == 2 and "not a regular expression" in bad.stderr


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def test_the_register_file_is_in_the_state_dir(city: City) -> None:
    saved = json.loads(Path(city.agent.config.parent / "state" / "assets.json").read_text())
    assert {a["device"] for a in saved["assets"]} >= DEVICES


def test_identity_text_of_every_kind_reaches_the_store_and_the_register_intact(city: City) -> None:
    """Quotes, commas, equals signs, spaces, backslashes, Chinese, control characters, a
    thousand bytes: cleaned by the agent's rule, escaped by its encoder, read back as cleaned."""
    nasty = {
        "vendor": 'ACME, "Inc"=1 \\ back\\slash',
        "model": "型号 X-1\x00\x1b[1m\r\nnext",
        "firmware": "v" + "9" * 1000,
        "serial": "\\",
    }
    identity = Identity.stated(nasty)
    lines: list[str] = []
    encoders = {"nasty-1": PointEncoder("m", {"school": "sh-nasty", "campus": "main", "device": "nasty-1"})}

    def accept(readings: list[Reading]) -> None:
        lines.extend(line for r in readings if (line := encoders[r.device].encode(r)) is not None)

    register = AssetRegister(Path("/nonexistent"), encoders, accept, lambda: 3600.0)
    register.record("nasty-1", "modbus", "10.0.0.9:502 unit 1", identity, "device")
    write_lines(city.store, lines)
    (row,) = wait_for(lambda: assets(city, "--json", "--school", "sh-nasty")["assets"], 30, what="the row")
    assert row["vendor"] == 'ACME, "Inc"=1 \\ back\\slash'
    assert row["model"] == "型号 X-1[1m next"
    assert row["firmware"] == ("v" + "9" * 1000)[:128]
    assert row["serial"] == "\\"
    assert row["address"] == "10.0.0.9:502 unit 1"
