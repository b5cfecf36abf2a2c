"""The MQTT uplink against a real mosquitto: every buffered line reaches a subscriber, and
the buffer lets a batch go only after the broker's PUBACK (broker frozen, broker stopped)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from campus_core.sinks import SinkAuthError, SinkError
from edge_agent.buffer import AsyncBuffer, DiskBuffer, encode_batch
from edge_agent.forwarder import Forwarder
from edge_agent.sinks.mqtt import MqttSink
from edge_agent.sinks.mqtt_config import MqttSink as MqttSinkConfig
from edge_agent.status import AgentStatus, SinkStatus
from tests.support.mosquitto import Mosquitto, Subscriber
from tests.support.processes import until

pytestmark = pytest.mark.integration

TOPIC = "edu/{school}/{campus}/metrics"


def sink_config(broker: Mosquitto, **overrides: Any) -> MqttSinkConfig:
    settings: dict[str, Any] = {
        "broker": broker.url,
        "topic": TOPIC,
        "timeout": "2s",
        "retry_max": "1s",
    } | overrides
    config = MqttSinkConfig(**settings)
    config.bind_agent("sh-test", "main")
    return config


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path / "broker")
    server.start()
    yield server
    if server.process is not None:
        server.thaw()
    server.stop()


@dataclass
class Uplink:
    """A real buffer drained by the forwarder into the MQTT sink, and a subscriber at the broker."""

    buffer: AsyncBuffer
    forwarder: Forwarder
    sink: MqttSink
    status: AgentStatus
    subscriber: Subscriber
    appended: list[str]

    async def add(self, count: int) -> None:
        start = len(self.appended)
        lines = [
            f"classroom_env,device=w{i % 3},school=sh-test co2_ppm={400 + i}.0 {1_741_600_800_000 + i}"
            for i in range(start, start + count)
        ]
        await self.buffer.append(lines)
        self.appended += lines
        self.forwarder.notify()

    async def backlog(self) -> int:
        stats = await self.buffer.stats()
        return sum(b.points for b in stats.backlog if b.sink == self.sink.name)

    def arrived_in_order(self) -> bool:
        # At-least-once: a batch resent after a lost PUBACK may arrive twice, never reordered.
        return list(dict.fromkeys(self.subscriber.lines)) == self.appended


@pytest.fixture
async def uplink(tmp_path: Path, broker: Mosquitto) -> AsyncIterator[Uplink]:
    sink = MqttSink(sink_config(broker, batch_points=40))
    buffer = AsyncBuffer(lambda: DiskBuffer(tmp_path / "buffer.db", [sink.name], 2**30))
    await buffer.open()
    status = AgentStatus()
    status.sinks[sink.name] = SinkStatus(sink.name, sink.url)
    forwarder = Forwarder(buffer, [sink], status)
    subscriber = Subscriber(broker, "edu/#")
    tasks = [asyncio.create_task(subscriber.run()), asyncio.create_task(forwarder.run())]
    await asyncio.wait_for(subscriber.subscribed.wait(), 10)
    yield Uplink(buffer, forwarder, sink, status, subscriber, [])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await buffer.close()


async def test_every_buffered_line_arrives_on_the_topic_of_the_school(uplink: Uplink) -> None:
    await uplink.add(100)

    async def arrived() -> bool:
        return uplink.arrived_in_order()

    await until(arrived, 15, "all lines at the subscriber")
    assert {topic for topic, _ in uplink.subscriber.messages} == {"edu/sh-test/main/metrics"}
    assert await uplink.backlog() == 0


async def test_no_puback_no_ack_then_everything_arrives(uplink: Uplink, broker: Mosquitto) -> None:
    async def drained() -> bool:
        return await uplink.backlog() == 0 and uplink.arrived_in_order()

    await uplink.add(30)
    await until(drained, 15, "the first lines")
    sink_status = uplink.status.sinks[uplink.sink.name]

    # Frozen: the PUBLISH goes out, no PUBACK comes back, and the buffer keeps the batch.
    broker.freeze()
    await uplink.add(30)
    failures = sink_status.failures

    async def write_timed_out() -> bool:
        return sink_status.failures > failures

    await until(write_timed_out, 15, "a write without PUBACK to fail")
    assert await uplink.backlog() == 30
    broker.thaw()
    await until(drained, 20, "the lines sent while frozen")

    # Stopped: nothing can be sent; the buffer keeps it all, then it goes when the broker is back.
    await asyncio.to_thread(broker.stop)
    await uplink.add(70)
    failures = sink_status.failures
    await until(write_timed_out, 15, "writes to fail while the broker is down")
    assert await uplink.backlog() == 70
    await asyncio.to_thread(broker.start)
    await until(drained, 30, "the backlog after the broker came back")
    assert "no PUBACK" in (sink_status.last_error or "") or "cannot connect" in (sink_status.last_error or "")


async def test_a_payload_over_max_payload_is_split_by_the_forwarder(
    tmp_path: Path, uplink: Uplink, broker: Mosquitto
) -> None:
    small = MqttSink(sink_config(broker, name="small", max_payload="1KiB", batch_points=1000))
    buffer = AsyncBuffer(lambda: DiskBuffer(tmp_path / "small.db", [small.name], 2**30))
    await buffer.open()
    status = AgentStatus()
    status.sinks[small.name] = SinkStatus(small.name, small.url)
    forwarder = Forwarder(buffer, [small], status)
    lines = [f"m,device=d v={i}.0 {1_741_600_800_000 + i}" for i in range(200)]
    await buffer.append(lines)
    task = asyncio.create_task(forwarder.run())
    try:

        async def arrived() -> bool:
            return uplink.subscriber.lines == lines

        await until(arrived, 20, "every line in pieces under 1 KiB")
        assert all(len(payload) <= 1024 for _, payload in uplink.subscriber.messages)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await buffer.close()


async def test_a_broker_that_is_down_is_a_retried_error_naming_it(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "never-started")
    sink = MqttSink(sink_config(broker))
    await sink.start()
    with pytest.raises(SinkError) as caught:
        await sink.write(encode_batch(["m v=1.0 1"]), 1)
    assert type(caught.value) is SinkError
    assert f"cannot connect to {broker.url}" in caught.value.reason
    await sink.close()


async def test_an_acl_denial_is_an_auth_error_not_a_silent_loss(tmp_path: Path) -> None:
    acl = tmp_path / "acl"
    acl.write_text("topic read edu/#\n")
    broker = Mosquitto(tmp_path / "acl-broker", extra=f"acl_file {acl}")
    broker.start()
    try:
        sink = MqttSink(sink_config(broker))
        with pytest.raises(SinkAuthError) as caught:
            await sink.write(encode_batch(["m v=1.0 1"]), 1)
        assert "Not authorized" in caught.value.reason and "check the broker's ACL" in caught.value.reason
        await sink.close()
    finally:
        broker.stop()


async def test_gzip_payloads_are_the_buffers_bytes(uplink: Uplink, broker: Mosquitto) -> None:
    sink = MqttSink(sink_config(broker, gzip=True))
    body = encode_batch(["m v=1.0 1", "m v=2.0 2"])
    await sink.write(body, 2)
    await sink.close()

    async def arrived() -> bool:
        return bool(uplink.subscriber.messages)

    await until(arrived, 10, "the gzip message")
    assert uplink.subscriber.messages[0][1] == body
