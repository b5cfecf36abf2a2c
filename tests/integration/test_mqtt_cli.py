"""``edge-agent test`` with pushed devices: it listens in a session of its own and prints what
arrives, and it never takes what is queued for the agent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from campus_core.clock import now_ms
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port
from tests.support.processes import AgentProcess, cli, wait_for
from tests.support.victoriametrics import VictoriaMetrics

from .test_mqtt_ingest import WirelessSensors, publish, stored, write_config

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


def test_it_prints_pushed_points_and_leaves_the_agents_queue_alone(
    tmp_path: Path, broker: Mosquitto, store: VictoriaMetrics
) -> None:
    config = write_config(tmp_path / "agent", broker, store)
    agent = AgentProcess(config)
    agent.start()
    wait_for(lambda: '"mqtt subscribed"' in agent.log_text(), 30, what="the agent's session")
    assert agent.stop() == 0
    now = now_ms()
    queued = [
        (
            "campus/A/301/iaq",
            json.dumps(
                {"ts": now - 1000 + i, "co2": 500 + i, "env": {"temp": 21, "rh": 40}, "pm": [{"value": 9}]}
            ).encode(),
        )
        for i in range(5)
    ]
    publish(broker, queued)

    sensors = WirelessSensors(tmp_path / "sensors", broker, sensors=1)
    sensors.start()
    try:
        result = cli("test", str(config))
    finally:
        sensors.stop()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(
        line.startswith(
            "classroom_env,building=A,campus=main,device=wireless-iaq,"
            "kind=wireless-iaq,room=201,school=sh-test "
        )
        for line in lines
    )
    assert "# wireless-iaq: subscribed," in result.stderr

    agent.start()
    try:
        wait_for(
            lambda: (
                {ts for (_, room, ts) in stored(store) if room == "301"} == {now - 1000 + i for i in range(5)}
            ),
            30,
            what="the messages queued for the agent",
        )
    finally:
        assert agent.stop() == 0


def test_it_names_a_broker_it_cannot_reach(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    port = free_port()
    config.write_text(f"""
[agent]
school = "sh-test"
[[devices.mqtt]]
name = "wireless-iaq"
broker = "mqtt://127.0.0.1:{port}"
topic = "campus/{{building}}/{{room}}/iaq"
profile = "wireless-iaq"
""")
    result = cli("test", str(config))
    assert result.returncode == 1
    assert f"wireless-iaq: FAILED: cannot connect to mqtt://127.0.0.1:{port}" in result.stderr
