"""``python -m simulators campus --mqtt-broker URL``: the wireless sensors join the campus."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.config import load
from tests.support.mosquitto import Mosquitto
from tests.support.ports import LOOPBACK, free_port_range

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


def campus_args(broker: Mosquitto) -> list[str]:
    return [
        sys.executable,
        "-m",
        "simulators",
        "campus",
        "--classrooms",
        "1",
        "--meters",
        "0",
        "--machines",
        "0",
        "--base-port",
        str(free_port_range(1)),
        "--host",
        LOOPBACK,
        "--mqtt-broker",
        broker.url,
        "--wireless",
        "2",
        "--wireless-interval",
        "0.2",
    ]


def test_print_config_adds_an_mqtt_device_that_loads(tmp_path: Path, broker: Mosquitto) -> None:
    text = subprocess.run(
        [*campus_args(broker), "--print-config"], check=True, capture_output=True, text=True, timeout=30
    ).stdout
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-test"\n' + text)
    loaded = load(config).config
    assert [d.name for d in loaded.devices.modbus] == ["classroom-1"]
    (device,) = loaded.devices.mqtt
    assert device.broker == broker.url and device.measurement == "classroom_env"


def test_the_campus_publishes_wireless_readings(tmp_path: Path, broker: Mosquitto) -> None:
    out = tmp_path / "sub.txt"
    subscriber = subprocess.Popen(
        ["mosquitto_sub", "-h", LOOPBACK, "-p", str(broker.port), "-t", "campus/#", "-v", "-C", "6"],
        stdout=out.open("wb"),
    )
    campus = subprocess.Popen(campus_args(broker), stdout=subprocess.PIPE, text=True)
    try:
        assert campus.stdout is not None
        lines = []
        for line in campus.stdout:
            lines.append(line.strip())
            if line.strip() == "ready":
                break
        assert "wireless-1 wireless-iaq campus/A/201/iaq" in lines
        assert "wireless-2 wireless-iaq campus/B/202/iaq" in lines
        assert subscriber.wait(timeout=30) == 0
    finally:
        campus.send_signal(signal.SIGTERM)
        assert campus.wait(timeout=20) == 0
        if subscriber.poll() is None:
            subscriber.kill()
            subscriber.wait()
    messages = [line.split(" ", 1) for line in out.read_text().splitlines()]
    assert {topic for topic, _ in messages} == {"campus/A/201/iaq", "campus/B/202/iaq"}
    payload = json.loads(messages[0][1])
    assert set(payload) == {"ts", "co2", "env", "pm", "battery", "dev"}
    assert set(payload["dev"]) == {"model", "fw", "sn"}  # who the sensor is, as a bridge adds it
    assert 380 <= payload["co2"] <= 2000 and 19 <= payload["env"]["temp"] <= 27
