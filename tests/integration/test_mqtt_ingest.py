"""MQTT ingest the whole way: simulated wireless sensors -> mosquitto -> edge-agent run ->
VictoriaMetrics (and the MQTT uplink), with bad payloads, agent restarts and broker restarts.

The sensor simulator journals every message the broker acknowledged; each must reach the
store with the tags its topic names and the values its payload carried.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from campus_core.clock import now_ms
from tests.support.mosquitto import Mosquitto
from tests.support.ports import LOOPBACK
from tests.support.processes import AgentProcess, wait_for, written_lines
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = pytest.mark.integration

FIELDS = {
    "co2_ppm": ("co2",),
    "temperature_c": ("env", "temp"),
    "humidity_pct": ("env", "rh"),
    "pm25_ugm3": ("pm", "0", "value"),
    "battery_pct": ("battery", "pct"),
}
Key = tuple[str, str, int]  # (building, room, ts)
#: Timestamps of hand-made messages: an hour ago, well inside the store's retention.
BASE_MS = (now_ms() - 3_600_000) // 1000 * 1000


class WirelessSensors:
    """``python -m simulators.mqtt_sensors`` as a process, with its journal."""

    def __init__(self, workdir: Path, broker: Mosquitto, sensors: int = 3, interval: float = 0.2) -> None:
        self.workdir = workdir
        self.count = sensors
        self.journal_path = workdir / "wireless.jsonl"
        self.args = [
            "--broker",
            broker.url,
            "--sensors",
            str(sensors),
            "--wireless-interval",
            str(interval),
            "--wireless-journal",
            str(self.journal_path),
        ]
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulators.mqtt_sensors", *self.args],
            stdout=subprocess.PIPE,
            text=True,
            stderr=(self.workdir / "wireless.log").open("ab"),
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip() == "ready":
                return
        raise RuntimeError(f"the sensor simulator did not start; see {self.workdir / 'wireless.log'}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
            self.process = None

    def journal(self) -> dict[Key, dict[str, Any]]:
        """Every acknowledged message by (building, room, ts)."""
        out = {}
        for line in written_lines(self.journal_path):
            entry = json.loads(line)
            _, building, room, _ = entry["topic"].split("/")
            out[(building, room, entry["t_ms"])] = entry["payload"]
        return out


def expected_fields(payload: dict[str, Any]) -> dict[str, float]:
    values = {}
    for field, path in FIELDS.items():
        value: Any = payload
        for part in path:
            value = value[int(part)] if isinstance(value, list) else value[part]
        values[field] = float(value)
    return values


def stored(store: VictoriaMetrics) -> dict[Key, tuple[dict[str, float], dict[str, str]]]:
    """(building, room, ts) -> (fields, tags) of every classroom_env point of sh-test."""
    out: dict[Key, tuple[dict[str, float], dict[str, str]]] = {}
    for (name, labels), values in store.points('{__name__=~"classroom_env_.*",school="sh-test"}').items():
        tags = dict(labels)
        field = name.removeprefix("classroom_env_")
        for ts, value in values.items():
            key = (tags["building"], tags["room"], ts)
            out.setdefault(key, ({}, tags))[0][field] = value
    return out


def write_config(
    directory: Path,
    broker: Mosquitto,
    store: VictoriaMetrics | None,
    flush_interval: str = "200ms",
    uplink: bool = False,
    profile: bool = True,
    interval: str = "10s",
    stale_after: str = "5m",
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    sinks = (
        f"""
[[sinks.influxdb]]
url = "{store.url}"
bucket = "campus"
retry_max = "2s"
"""
        if store
        else ""
    )
    if uplink:
        sinks += f"""
[[sinks.mqtt]]
broker = "{broker.url}"
topic = "edu/{{school}}/{{campus}}/metrics"
retry_max = "2s"
"""
    device = f"""
[[devices.mqtt]]
name = "wireless-iaq"
broker = "{broker.url}"
topic = "campus/{{building}}/{{room}}/iaq"
timeout = "3s"
stale_after = "{stale_after}"
""" + (
        'profile = "wireless-iaq"\n'
        if profile
        else """measurement = "classroom_env"
max_payload = "1KiB"
timestamp = { path = "ts", format = "epoch_ms" }
  [[devices.mqtt.fields]]
  field = "co2_ppm"
  path = "co2"
  [[devices.mqtt.fields]]
  field = "temperature_c"
  path = "env.temp"
"""
    )
    config = directory / "agent.toml"
    config.write_text(f"""
[agent]
school = "sh-test"
campus = "main"
state_dir = "state"
interval = "{interval}"

[buffer]
flush_interval = "{flush_interval}"
shutdown_grace = "5s"

[log]
level = "debug"
format = "json"
{sinks}
{device}
""")
    return config


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def agents() -> Iterator[list[AgentProcess]]:
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        if agent.running():
            agent.kill()


def start_agent(agents: list[AgentProcess], config: Path) -> AgentProcess:
    agent = AgentProcess(config)
    agents.append(agent)
    before = agent.log_text().count('"mqtt subscribed"')
    agent.start()
    wait_for(
        lambda: agent.log_text().count('"mqtt subscribed"') > before, 30, what="the agent's subscription"
    )
    return agent


def publish(broker: Mosquitto, messages: list[tuple[str, bytes]]) -> None:
    """Publish with QoS 1 and wait for every PUBACK."""

    async def run() -> None:
        async with aiomqtt.Client(LOOPBACK, broker.port, identifier="test-publisher") as client:
            for topic, payload in messages:
                await client.publish(topic, payload, qos=1)

    asyncio.run(run())


def numbered(count: int, start: int = 0) -> list[tuple[str, bytes]]:
    return [
        (
            "campus/A/301/iaq",
            json.dumps({"ts": BASE_MS + i, "co2": 400 + i, "env": {"temp": 20 + i / 1000}}).encode(),
        )
        for i in range(start, start + count)
    ]


def stored_times(store: VictoriaMetrics) -> set[int]:
    return {ts for (_, _, ts) in stored(store)}


def assert_every_message_stored(
    store: VictoriaMetrics, sensors: WirelessSensors, unconfirmed: int = 0
) -> None:
    """Every journaled message is stored as sent; at most ``unconfirmed`` more may be.

    The journal lists what the broker confirmed to the sensor. A broker that stops between
    passing a message on and sending the sensor its PUBACK leaves a message that arrived
    but was never confirmed: stored, yet not in the journal.
    """
    journal = sensors.journal()
    points = stored(store)
    assert set(points) >= set(journal)
    assert len(set(points) - set(journal)) <= unconfirmed
    for key, payload in journal.items():
        fields, tags = points[key]
        assert fields == pytest.approx(expected_fields(payload)), key
        assert tags == {
            "school": "sh-test",
            "campus": "main",
            "device": "wireless-iaq",
            "kind": "wireless-iaq",
            "building": key[0],
            "room": key[1],
        }


def uplinked(path: Path) -> list[str]:
    """The classroom lines the city subscriber got (the agent's own metrics left out)."""
    return [line for line in path.read_text().splitlines() if line.startswith("classroom_env,")]


def test_pushed_readings_reach_the_store_with_topic_tags_and_the_uplink(
    tmp_path: Path, broker: Mosquitto, store: VictoriaMetrics, agents: list[AgentProcess]
) -> None:
    received = tmp_path / "uplink.txt"
    uplink = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            LOOPBACK,
            "-p",
            str(broker.port),
            "-t",
            "edu/#",
            "-q",
            "1",
            "-i",
            "city-subscriber",
        ],
        stdout=received.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        agent = start_agent(agents, write_config(tmp_path / "agent", broker, store, uplink=True))
        sensors = WirelessSensors(tmp_path / "sensors", broker)
        sensors.start()
        wait_for(lambda: len(sensors.journal()) >= 45, 30, what="15 readings of each sensor")
        sensors.stop()
        journal = sensors.journal()
        wait_for(lambda: set(stored(store)) >= set(journal), 30, what="every message in the store")
        wait_for(lambda: len(set(uplinked(received))) >= len(journal), 30, what="every point at the uplink")
        assert agent.stop() == 0
    finally:
        uplink.terminate()
        uplink.wait(timeout=10)
    assert_every_message_stored(store, sensors)
    assert {line.split(" ")[-1] for line in uplinked(received)} == {str(ts) for (_, _, ts) in journal}
    assert all(
        line.startswith("classroom_env,building=") and ",school=sh-test" in line
        for line in uplinked(received)
    )
    assert len(uplinked(received)) == len(journal)  # each exactly once: the uplink had no outage


def test_a_bad_payload_between_good_ones_is_counted_and_explained(
    tmp_path: Path, broker: Mosquitto, store: VictoriaMetrics, agents: list[AgentProcess]
) -> None:
    agent = start_agent(agents, write_config(tmp_path / "agent", broker, store, profile=False))
    good = numbered(3)
    publish(
        broker,
        [
            good[0],
            ("campus/A/301/iaq", b"temperature=21.5"),
            ("campus/B/102/iaq", json.dumps({"ts": BASE_MS + 10, "co2": 500}).encode()),
            good[1],
            (
                "campus/B/103/iaq",
                json.dumps({"ts": BASE_MS + 11, "co2": "n/a", "env": {"temp": 20}}).encode(),
            ),
            ("campus/B/104/iaq", b"{" + b" " * 2048 + b"}"),
            good[2],
        ],
    )
    wait_for(lambda: len(stored(store)) == 3, 30, what="the three good readings")
    assert agent.stop() == 0
    assert stored_times(store) == {BASE_MS, BASE_MS + 1, BASE_MS + 2}
    rejected = [
        json.loads(line) for line in agent.log_text().splitlines() if '"mqtt message rejected"' in line
    ]
    by_kind = {entry["kind"]: entry for entry in rejected}
    assert set(by_kind) == {"not JSON", "missing field", "wrong type", "too large"}
    assert by_kind["missing field"]["topic"] == "campus/B/102/iaq"
    assert "no value at 'env.temp'" in by_kind["missing field"]["reason"]
    assert "'co2' is a string ('n/a'), expected a number" in by_kind["wrong type"]["reason"]
    assert all(entry["device"] == "wireless-iaq" and entry["rejected"] == 1 for entry in rejected)


def test_what_is_published_while_the_agent_is_stopped_arrives_after_it_starts(
    tmp_path: Path, broker: Mosquitto, store: VictoriaMetrics, agents: list[AgentProcess]
) -> None:
    config = write_config(tmp_path / "agent", broker, store, profile=False)
    agent = start_agent(agents, config)
    assert agent.stop() == 0
    publish(broker, numbered(1000))
    agent = start_agent(agents, config)
    wait_for(lambda: len(stored(store)) == 1000, 60, what="the 1,000 messages queued at the broker")
    assert agent.stop() == 0
    assert stored_times(store) == {BASE_MS + i for i in range(1000)}


def test_messages_received_but_not_yet_on_disk_survive_a_sigkill(
    tmp_path: Path, broker: Mosquitto, store: VictoriaMetrics, agents: list[AgentProcess]
) -> None:
    """Acknowledged only once committed: an agent killed before its commit gets them again."""
    directory = tmp_path / "agent"
    slow = write_config(directory, broker, store, flush_interval="1h", profile=False)
    agent = start_agent(agents, slow)
    publish(broker, numbered(200))
    # The first messages are handed to the pipeline, which will not commit for an hour; the
    # rest wait behind them in the agent. None of them has been acknowledged to the broker.
    wait_for(lambda: '"mqtt messages received"' in agent.log_text(), 30, what="the agent to receive them")
    time.sleep(1)
    agent.kill()
    assert not stored(store)
    agent = start_agent(agents, write_config(directory, broker, store, profile=False))
    wait_for(lambda: len(stored(store)) == 200, 30, what="the 200 messages again")
    assert agent.stop() == 0


@pytest.mark.faults
def test_a_broker_restart_during_a_run_loses_nothing(
    tmp_path: Path, broker: Mosquitto, store: VictoriaMetrics, agents: list[AgentProcess]
) -> None:
    agent = start_agent(agents, write_config(tmp_path / "agent", broker, store))
    sensors = WirelessSensors(tmp_path / "sensors", broker, interval=0.1)
    sensors.start()
    wait_for(lambda: len(sensors.journal()) >= 30, 30, what="readings before the restart")
    for _ in range(2):
        broker.restart()
        count = len(sensors.journal())
        wait_for(lambda: len(sensors.journal()) >= count + 30, 30, what="readings after the restart")  # noqa: B023
    sensors.stop()
    wait_for(lambda: set(stored(store)) >= set(sensors.journal()), 60, what="every message in the store")
    assert agent.stop() == 0
    # Two restarts, each may cut one message per sensor off from its PUBACK.
    assert_every_message_stored(store, sensors, unconfirmed=2 * 2 * sensors.count)
    assert '"mqtt broker connection failed; retrying"' in agent.log_text()


def test_ingest_only_subscribes_and_never_publishes(
    tmp_path: Path, broker: Mosquitto, store: VictoriaMetrics, agents: list[AgentProcess]
) -> None:
    """Everything on the broker while the agent ingests (seen by a subscriber to #) is what the
    sensors published: the agent sends nothing of its own to a sensor broker."""
    seen = tmp_path / "everything.txt"
    watcher = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            LOOPBACK,
            "-p",
            str(broker.port),
            "-t",
            "#",
            "-q",
            "1",
            "-v",
            "-i",
            "watcher",
        ],
        stdout=seen.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        agent = start_agent(agents, write_config(tmp_path / "agent", broker, store))
        sensors = WirelessSensors(tmp_path / "sensors", broker)
        sensors.start()
        wait_for(lambda: len(sensors.journal()) >= 30, 30, what="10 readings of each sensor")
        sensors.stop()
        journal = sensors.journal()
        wait_for(lambda: set(stored(store)) >= set(journal), 30, what="every message in the store")
        wait_for(lambda: len(seen.read_text().splitlines()) >= len(journal), 15, what="the watcher")
        assert agent.stop() == 0
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
    lines = [line.split(" ", 1) for line in seen.read_text().splitlines()]
    # A sensor may publish once more after its journal was read (it journals after sending):
    # what counts is that every message seen is a sensor's, none the agent's.
    assert len(lines) >= len(journal)
    assert all(topic.startswith("campus/") and topic.endswith("/iaq") for topic, _ in lines)
    assert all({"ts", "co2"} <= set(json.loads(payload)) for _, payload in lines)


def test_each_sensor_behind_the_wildcard_is_alive_or_not_by_itself(
    tmp_path: Path, broker: Mosquitto, store: VictoriaMetrics, agents: list[AgentProcess]
) -> None:
    config = write_config(
        tmp_path / "agent", broker, store, profile=False, interval="500ms", stale_after="2s"
    )
    start_agent(agents, config)

    def sensor(room: str, i: int) -> tuple[str, bytes]:
        payload = {"ts": now_ms(), "co2": 400 + i, "env": {"temp": 20}}
        return f"campus/A/{room}/iaq", json.dumps(payload).encode()

    def alive(room: str) -> float | None:
        """The last ``alive`` the agent wrote for the sensor of ``room``."""
        series = store.points(f'edge_agent_device_alive{{device="wireless-iaq",room="{room}"}}')
        if not series:
            return None
        [values] = series.values()
        return values[max(values)]

    for i in range(6):  # both rooms talk
        publish(broker, [sensor("201", i), sensor("202", i)])
        time.sleep(0.5)
    wait_for(lambda: alive("201") == 1.0 and alive("202") == 1.0, 30, what="both sensors alive")
    for i in range(10):  # then room 202 falls silent
        publish(broker, [sensor("201", 10 + i)])
        time.sleep(0.5)
    wait_for(lambda: alive("202") == 0.0, 30, what="room 202's sensor shown not alive")
    assert alive("201") == 1.0  # the session and the other sensor are fine
