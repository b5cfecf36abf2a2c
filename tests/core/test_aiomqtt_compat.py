"""campus_core.aiomqtt_compat: the two things reached inside aiomqtt, pinned to the versions checked.

When a test here fails after an upgrade, read the upstream issues named in the module's
docstring: if aiomqtt now offers manual acknowledgement or PUBACK reason codes, use that
and shrink the adapter; otherwise check the internals again and widen the CHECKED range.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import aiomqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from campus_core import aiomqtt_compat
from tests.support.mosquitto import Mosquitto
from tests.support.ports import LOOPBACK


def _minor(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def _within(installed: str, checked: tuple[str, str]) -> bool:
    return _minor(checked[0]) <= _minor(installed) <= _minor(checked[1])


def test_the_installed_versions_are_the_ones_checked() -> None:
    installed = version("aiomqtt"), version("paho-mqtt")
    assert _within(installed[0], aiomqtt_compat.CHECKED_AIOMQTT), (
        f"aiomqtt {installed[0]} is outside the checked {aiomqtt_compat.CHECKED_AIOMQTT}: "
        "re-check campus_core/aiomqtt_compat.py (see its upstream issues)"
    )
    assert _within(installed[1], aiomqtt_compat.CHECKED_PAHO), (
        f"paho-mqtt {installed[1]} is outside the checked {aiomqtt_compat.CHECKED_PAHO}"
    )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


async def test_a_message_is_acknowledged_only_when_asked(broker: Mosquitto) -> None:
    """Unacknowledged, the broker sends the message again in the next session; acknowledged, never."""

    async def receive_once(acknowledge: bool) -> list[bytes]:
        client = aiomqtt.Client(LOOPBACK, broker.port, identifier="compat-listener", clean_session=False)
        aiomqtt_compat.enable_manual_acks(client)
        got: list[bytes] = []
        async with client:
            await client.subscribe("compat/t", qos=1)
            try:
                async with asyncio.timeout(2):
                    async for message in client.messages:
                        got.append(bytes(message.payload))
                        if acknowledge:
                            aiomqtt_compat.ack(client, message)
                        break
            except TimeoutError:
                pass
        return got

    # A first connection makes the persistent session; then one message is queued for it.
    client = aiomqtt.Client(LOOPBACK, broker.port, identifier="compat-listener", clean_session=False)
    async with client:
        await client.subscribe("compat/t", qos=1)
    async with aiomqtt.Client(LOOPBACK, broker.port, identifier="compat-publisher") as publisher:
        await publisher.publish("compat/t", b"one", qos=1)

    assert await receive_once(acknowledge=False) == [b"one"]
    assert await receive_once(acknowledge=True) == [b"one"]  # sent again: it was never acknowledged
    assert await receive_once(acknowledge=True) == []  # acknowledged: gone


async def test_puback_reason_codes_reach_the_callback(broker: Mosquitto) -> None:
    reasons: list[ReasonCode] = []
    client = aiomqtt.Client(
        LOOPBACK, broker.port, identifier="compat-sink", protocol=aiomqtt.ProtocolVersion.V5
    )
    aiomqtt_compat.on_puback(client, reasons.append)
    async with client:
        await client.publish("compat/up", b"x", qos=1)
    assert [reason.value for reason in reasons] in ([0], [16])  # accepted, maybe "no subscribers"
