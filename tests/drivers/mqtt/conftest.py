"""A real mosquitto per test, and helpers to publish to it and wait for what arrives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from campus_core.readings import Reading
from drivers.mqtt import MqttDevice, MqttListener
from tests.support.mosquitto import Mosquitto
from tests.support.ports import LOOPBACK


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running mosquitto on a free loopback port, with persistence."""
    server = Mosquitto(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


def device(broker_url: str, **overrides: Any) -> MqttDevice:
    """A device reading {"co2": ..., "env": {"temp": ...}, "ts": ...} from campus/{building}/{room}/iaq."""
    settings: dict[str, Any] = {
        "name": "wireless",
        "broker": broker_url,
        "topic": "campus/{building}/{room}/iaq",
        "measurement": "classroom_env",
        "timeout": "5s",
        "fields": [{"field": "co2_ppm", "path": "co2"}, {"field": "temperature_c", "path": "env.temp"}],
        "timestamp": {"path": "ts", "format": "epoch_ms"},
    } | overrides
    config = MqttDevice(**settings)
    config.bind_agent("sh-test", "main")
    return config


def good(i: int) -> bytes:
    """A well-formed payload numbered i."""
    return json.dumps({"ts": 1_741_600_800_000 + i, "co2": 400 + i, "env": {"temp": 20 + i / 100}}).encode()


async def publish(broker: Mosquitto, messages: list[tuple[str, bytes]], retain: bool = False) -> None:
    """Publish with QoS 1 and wait for every PUBACK."""
    async with aiomqtt.Client(LOOPBACK, broker.port, identifier="test-publisher") as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1, retain=retain)


class Collector:
    """What a listener delivered, as the agent's pipeline would receive it."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []

    async def deliver(self, readings: list[Reading]) -> None:
        self.readings.extend(readings)


@pytest.fixture
async def running() -> AsyncIterator[Callable[[MqttListener, Any], asyncio.Task[None]]]:
    """Starts listeners as tasks and cancels them at the end of the test."""
    tasks: list[asyncio.Task[None]] = []

    def start(listener: MqttListener, deliver: Any) -> asyncio.Task[None]:
        task = asyncio.create_task(listener.run(deliver))
        tasks.append(task)
        return task

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
