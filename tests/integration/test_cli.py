"""The technician's commands against a running simulated campus: test, run, buffer, check."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from edge_agent.config import load
from tests.support.processes import SimulatedCampus, cli, wait_for

from .conftest import AgentFactory

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_test_polls_once_and_prints_line_protocol(campus: SimulatedCampus, agent_for: AgentFactory) -> None:
    campus.start()
    agent = agent_for(campus, None)
    result = cli("test", str(agent.config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4  # one point per device
    meter = next(line for line in lines if line.startswith("energy_meter,"))
    series, fields, ts = meter.split(" ")
    assert "device=meter-1" in series and "school=sh-test" in series and "kind=energy-meter-3ph" in series
    assert "voltage_l1_v=" in fields and "energy_import_kwh=" in fields
    assert len(ts) == 13  # milliseconds
    assert "4 of 4 device(s) answered" in result.stderr
    assert not (agent.config.parent / "state").exists()  # sends nothing, buffers nothing


def test_test_fails_naming_the_device_that_does_not_answer(
    campus: SimulatedCampus, agent_for: AgentFactory
) -> None:
    agent = agent_for(campus, None)  # the campus is not started: nothing answers
    result = cli("test", str(agent.config))
    assert result.returncode == 1
    assert "classroom-1: FAILED: cannot connect to 127.0.0.1:" in result.stderr
    assert "0 of 4 device(s) answered" in result.stderr
    assert result.stdout == ""


def test_without_a_sink_readings_stay_in_the_buffer(campus: SimulatedCampus, agent_for: AgentFactory) -> None:
    campus.start()
    agent = agent_for(campus, None)
    agent.start()
    wait_for(
        lambda: "accepted: " in cli("buffer", "stats", str(agent.config)).stdout,
        30,
        what="readings in the buffer",
    )
    assert agent.stop() == 0
    stats = cli("buffer", "stats", str(agent.config))
    assert stats.returncode == 0
    accepted = int(stats.stdout.split("accepted: ")[1].split()[0])
    assert accepted >= 4
    assert f"{accepted} points in" in stats.stdout
    tail = cli("buffer", "tail", str(agent.config), "-n", "3")
    assert tail.returncode == 0
    assert len(tail.stdout.splitlines()) == 3
    assert all(" school=" not in line and ",school=sh-test" in line for line in tail.stdout.splitlines())


def test_buffer_before_the_first_run_says_so(
    tmp_path: Path, campus: SimulatedCampus, agent_for: AgentFactory
) -> None:
    agent = agent_for(campus, None)
    result = cli("buffer", "stats", str(agent.config))
    assert result.returncode == 1
    assert "no buffer at" in result.stderr


def test_the_example_config_is_valid_once_its_token_file_exists(tmp_path: Path) -> None:
    text = (REPO / "configs" / "agent.example.toml").read_text()
    # ${CREDENTIALS_DIRECTORY} outside systemd: secrets/ beside the config.
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "influxdb.token").write_text("secret\n")
    (tmp_path / "agent.toml").write_text(text)
    config = load(tmp_path / "agent.toml").config
    assert [d.name for d in config.devices.modbus] == ["a301-iaq", "lab-meter"]
    assert config.sinks.influxdb[0].resolve_token() == "secret"


def test_the_demo_config_polls_the_default_campus() -> None:
    config = load(REPO / "configs" / "demo" / "agent.toml").config
    simulated = tomllib.loads(SimulatedCampus(REPO / "unused", 3, 2, 2).config())
    wanted = {(d["name"], d["port"], d["profile"]) for d in simulated["devices"]["modbus"]}
    # The demo's simulators run on the default ports, whatever the test picked.
    assert {(d.name, d.profile) for d in config.devices.modbus} == {(n, p) for n, _, p in wanted}
    assert sorted(d.port for d in config.devices.modbus) == list(range(15020, 15027))


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("edge-agent ")
