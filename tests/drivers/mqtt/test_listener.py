"""The listener against a real mosquitto: tags from topics, rejects counted, acknowledgement
only after delivery, reconnects after a broker restart."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from drivers.mqtt import MqttListener
from tests.support.mosquitto import Mosquitto
from tests.support.processes import until

from .conftest import Collector, device, good, publish

pytestmark = pytest.mark.integration


async def test_messages_become_readings_tagged_from_the_topic(broker: Mosquitto, running: Any) -> None:
    listener = MqttListener(device(broker.url))
    collector = Collector()
    running(listener, collector.deliver)
    await until(lambda: listener.stats.connects, 10, "the subscription")
    await publish(broker, [("campus/A/301/iaq", good(1)), ("campus/B/102/iaq", good(2))])
    await until(lambda: len(collector.readings) == 2, 10, "two readings")
    first, second = collector.readings
    assert first.device == "wireless" and first.time_ms == 1_741_600_800_001
    assert dict(first.tags) == {"building": "A", "room": "301"}
    assert dict(first.fields) == {"co2_ppm": 401.0, "temperature_c": 20.01}
    assert dict(second.tags) == {"building": "B", "room": "102"}


async def test_bad_messages_are_counted_and_the_good_ones_around_them_kept(
    broker: Mosquitto, running: Any, caplog: pytest.LogCaptureFixture
) -> None:
    listener = MqttListener(device(broker.url, max_payload="1KiB"))
    collector = Collector()
    running(listener, collector.deliver)
    await until(lambda: listener.stats.connects, 10, "the subscription")
    topic = "campus/A/301/iaq"
    await publish(
        broker,
        [
            (topic, good(1)),
            (topic, b"{not json"),
            (topic, good(2)),
            (topic, json.dumps({"ts": 1_741_600_800_003, "co2": 1}).encode()),  # no env.temp
            (topic, json.dumps({"ts": 1_741_600_800_004, "co2": "high", "env": {"temp": 1}}).encode()),
            (topic, b"{" + b" " * 2000 + b"}"),
            (topic, good(5)),
        ],
    )
    await until(lambda: listener.stats.received == 7, 10, "seven messages")
    assert [r.time_ms - 1_741_600_800_000 for r in collector.readings] == [1, 2, 5]
    assert listener.stats.rejected == {"not JSON": 1, "missing field": 1, "wrong type": 1, "too large": 1}


async def test_the_reject_log_names_topic_and_reason_at_most_once_per_period(
    broker: Mosquitto, running: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    listener = MqttListener(device(broker.url))
    running(listener, Collector().deliver)
    await until(lambda: listener.stats.connects, 10, "the subscription")
    await publish(broker, [("campus/A/301/iaq", b"garbage")] * 5)
    await until(lambda: listener.stats.received == 5, 10, "five messages")
    logged = [line for line in capsys.readouterr().out.splitlines() if "mqtt message rejected" in line]
    assert len(logged) == 1, logged
    assert "campus/A/301/iaq" in logged[0] and "payload is not JSON" in logged[0]
    assert listener.stats.rejected == {"not JSON": 5}


async def test_a_retained_message_without_its_own_time_is_skipped(broker: Mosquitto, running: Any) -> None:
    await publish(broker, [("campus/A/301/iaq", good(1))], retain=True)
    listener = MqttListener(device(broker.url, timestamp=None))
    collector = Collector()
    running(listener, collector.deliver)
    await until(lambda: listener.stats.received == 1, 10, "the retained message")
    await publish(broker, [("campus/A/301/iaq", good(2))])
    await until(lambda: len(collector.readings) == 1, 10, "the live message")
    assert listener.stats.rejected == {"retained": 1}


async def test_arrival_times_of_a_burst_stay_distinct_per_series(broker: Mosquitto, running: Any) -> None:
    listener = MqttListener(device(broker.url, timestamp=None))
    collector = Collector()
    running(listener, collector.deliver)
    await until(lambda: listener.stats.connects, 10, "the subscription")
    await publish(broker, [("campus/A/301/iaq", good(i)) for i in range(50)])
    await until(lambda: len(collector.readings) == 50, 10, "fifty readings")
    times = [r.time_ms for r in collector.readings]
    assert times == sorted(times) and len(set(times)) == 50


async def test_nothing_is_acknowledged_before_delivery_returns(broker: Mosquitto, running: Any) -> None:
    """A listener whose deliver never returns (the disk never commits) acknowledges nothing:
    the broker sends every message again to the next session."""
    stuck = MqttListener(device(broker.url))
    seen = []

    async def never_commits(readings: list[Any]) -> None:
        seen.extend(readings)
        await asyncio.Event().wait()

    task = running(stuck, never_commits)
    await until(lambda: stuck.stats.connects, 10, "the subscription")
    await publish(broker, [("campus/A/301/iaq", good(i)) for i in range(100)])
    await until(lambda: seen, 10, "messages handed over")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    again = MqttListener(device(broker.url))
    collector = Collector()
    running(again, collector.deliver)
    await until(lambda: len(collector.readings) == 100, 15, "the same 100 messages again")
    got = sorted(r.time_ms for r in collector.readings)
    assert got == [1_741_600_800_000 + i for i in range(100)]
    assert {r.time_ms for r in seen} <= set(got)


async def test_what_is_published_while_the_listener_is_away_arrives_later(
    broker: Mosquitto, running: Any
) -> None:
    first = MqttListener(device(broker.url))
    task = running(first, Collector().deliver)
    await until(lambda: first.stats.connects, 10, "the subscription")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await publish(broker, [("campus/A/301/iaq", good(i)) for i in range(1000)])
    back = MqttListener(device(broker.url))
    collector = Collector()
    running(back, collector.deliver)
    await until(lambda: len(collector.readings) == 1000, 30, "1000 queued messages")
    assert sorted(r.time_ms for r in collector.readings) == [1_741_600_800_000 + i for i in range(1000)]


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_a_broker_restart_is_survived(
    broker: Mosquitto, running: Any, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    listener = MqttListener(device(broker.url, protocol=protocol))
    collector = Collector()
    running(listener, collector.deliver)
    await until(lambda: listener.stats.connects, 10, "the subscription")
    await publish(broker, [("campus/A/301/iaq", good(1))])
    await asyncio.to_thread(broker.stop)
    await until(lambda: listener.stats.connect_failures >= 1, 10, "the connection loss")
    await asyncio.to_thread(broker.start)
    await publish(broker, [("campus/A/301/iaq", good(2))])
    await until(lambda: len(collector.readings) == 2, 30, "both readings")
    assert listener.stats.connects >= 2
    out = capsys.readouterr().out
    assert "mqtt broker connection failed; retrying" in out and broker.url in out
