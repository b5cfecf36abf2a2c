"""Pushed sensors for the asset register: each sensor behind a topic filter, and what its payload states.

The profile's ``identity_fields`` name where a payload says who its sensor is; the listener
keeps the last of it per sensor (by the topic's tags), and the agent's watch records it.
Through a real mosquitto, into the register, as the agent wires them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from campus_core.readings import Reading
from drivers.mqtt import MqttListener
from edge_agent.assets import AssetRegister, PushedWatch
from edge_agent.normalise import PointEncoder
from tests.support.lineparser import parse
from tests.support.mosquitto import Mosquitto
from tests.support.processes import until

from .conftest import Collector, device, publish

pytestmark = pytest.mark.integration

IDENTITY = {"model": "dev.model", "firmware": "dev.fw", "serial": "dev.sn"}


def message(i: int, firmware: Any = "1.4.2", serial: str = "SN-1") -> bytes:
    body = {"ts": 1_741_600_800_000 + i, "co2": 500, "env": {"temp": 21.0}}
    body["dev"] = {"model": "WS-IAQ4", "fw": firmware, "sn": serial}
    return json.dumps(body).encode()


async def test_each_sensor_is_an_asset_and_a_firmware_change_is_one_change(
    broker: Mosquitto, running: Any, tmp_path: Path
) -> None:
    config = device(broker.url, identity_fields=IDENTITY, make="Simulated Sensors")
    listener = MqttListener(config)
    running(listener, Collector().deliver)
    await until(lambda: listener.stats.connects, 10, "the subscription")
    await publish(
        broker,
        [
            ("campus/A/301/iaq", message(1)),
            ("campus/B/102/iaq", message(2, firmware=1.5, serial="SN-2")),
            ("campus/A/301/iaq", message(3)),
        ],
    )
    await until(lambda: len(listener.sightings()) == 2 and listener.identity_changes == 2, 10, "two sensors")

    lines: list[str] = []
    encoders = {"wireless": PointEncoder("classroom_env", {"school": "sh-031", "device": "wireless"})}

    def accept(readings: list[Reading]) -> None:
        lines.extend(line for r in readings if (line := encoders[r.device].encode(r)) is not None)

    register = AssetRegister(tmp_path, encoders, accept, lambda: 3600.0)
    watch = PushedWatch(listener, config, "mqtt", register)
    watch.look(everything=True)
    assets = {p.tags["room"]: p.tags for p in map(parse, lines)}
    assert assets["301"]["firmware"] == "1.4.2" and assets["102"]["firmware"] == "1.5"
    assert assets["301"]["vendor"] == "Simulated Sensors"  # the profile's make: the payload has none
    assert assets["301"]["address"] == f"{broker.url} campus/A/301/iaq"
    assert assets["102"]["serial"] == "SN-2" and assets["102"]["building"] == "B"

    lines.clear()
    upgraded = message(4, firmware="1.6.0")
    unchanged = message(5, firmware=1.5, serial="SN-2")
    await publish(broker, [("campus/A/301/iaq", upgraded), ("campus/B/102/iaq", unchanged)])
    await until(lambda: listener.identity_changes == 3, 10, "the new firmware")
    watch.look()
    changes = [p.tags for p in map(parse, lines) if p.tags.get("event") == "asset_changed"]
    assert changes == [
        {
            "school": "sh-031",
            "device": "wireless",
            "building": "A",
            "room": "301",
            "event": "asset_changed",
            "what": "firmware",
            "old": "1.4.2",
            "new": "1.6.0",
        }
    ]


async def test_identity_false_reads_nothing_of_the_payload(broker: Mosquitto, running: Any) -> None:
    listener = MqttListener(device(broker.url, identity_fields=IDENTITY, identity=False))
    running(listener, Collector().deliver)
    await until(lambda: listener.stats.connects, 10, "the subscription")
    await publish(broker, [("campus/A/301/iaq", message(1))])
    await until(lambda: listener.sightings(), 10, "the sensor")
    (sighting,) = listener.sightings().values()
    assert not sighting.identity and sighting.address == "campus/A/301/iaq"
