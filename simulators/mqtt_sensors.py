"""Wireless classroom sensors that push JSON readings to an MQTT broker.

Like a LoRa or Zigbee bridge, one MQTT client publishes for every sensor, QoS 1, to
``campus/<building>/<room>/iaq``. Values come from the classroom model of the Modbus
simulator. A reading the broker has not acknowledged is kept and sent again after a
reconnect, so a broker restart loses nothing. With a journal, every acknowledged message
is appended as one JSON line ``{"t_ms", "device", "topic", "payload"}``.

Run alone (``python -m simulators.mqtt_sensors --broker mqtt://127.0.0.1:1883``) or with the
Modbus campus (``python -m simulators campus --mqtt-broker mqtt://127.0.0.1:1883``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt

from .campus import check_loopback
from .models import ClassroomModel
from .profiles import toml_string

log = logging.getLogger("simulators.mqtt")

KIND = "wireless-iaq"
TOPIC = "campus/{building}/{room}/iaq"
#: Readings kept while the broker is away; beyond it the oldest go (and are counted).
MAX_PENDING = 100_000


@dataclass(frozen=True)
class WirelessSensor:
    """One battery sensor in a classroom."""

    name: str
    building: str
    room: str
    seed: int

    @property
    def topic(self) -> str:
        """Where it publishes."""
        return TOPIC.format(building=self.building, room=self.room)


def build_sensors(count: int, seed: int = 1) -> list[WirelessSensor]:
    """``count`` sensors in rooms 201, 202 ... of buildings A and B, alternately."""
    if count < 0:
        raise ValueError("the number of wireless sensors must not be negative")
    return [
        WirelessSensor(f"wireless-{i}", "AB"[(i - 1) % 2], str(200 + i), seed + 1000 + i)
        for i in range(1, count + 1)
    ]


def payload(
    values: dict[str, float | bool], t_ms: int, battery_pct: int, device: dict[str, str] | None = None
) -> dict[str, object]:
    """The JSON a sensor sends: nested objects and an array, as real bridges do; ``device``
    is who the sensor is, as a bridge adds it (``dev``: model, firmware, serial)."""
    body: dict[str, object] = {
        "ts": t_ms,
        "co2": round(float(values["co2_ppm"])),
        "env": {
            "temp": round(float(values["temperature_c"]), 2),
            "rh": round(float(values["humidity_pct"]), 1),
        },
        "pm": [{"size": "2.5", "value": round(float(values["pm25_ugm3"]), 1)}],
        "battery": {"pct": battery_pct},
    }
    if device is not None:
        body["dev"] = device
    return body


def nameplate(sensor: WirelessSensor) -> dict[str, str]:
    """Who a simulated sensor says it is (made up; the firmware differs from sensor to sensor)."""
    return {
        "model": "SIM-WS4",
        "fw": ("1.4.2", "1.5.0")[sensor.seed % 2],
        "sn": f"SIMWS{sensor.seed:011d}",
    }


def render_config(broker: str, name: str = "wireless-iaq") -> str:
    """The agent's ``[[devices.mqtt]]`` entry that reads every simulated sensor."""
    return (
        "\n".join(
            [
                "[[devices.mqtt]]",
                f"name = {toml_string(name)}",
                f"broker = {toml_string(broker)}",
                f"topic = {toml_string(TOPIC)}",
                f"profile = {toml_string(KIND)}",
            ]
        )
        + "\n"
    )


def _loopback_broker(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError(f"broker {url!r}: the simulator speaks plain mqtt://127.0.0.1:PORT")
    return check_loopback(parts.hostname), parts.port or 1883


class WirelessSensors:
    """Publishes a reading of every sensor each ``interval`` seconds until cancelled."""

    def __init__(
        self,
        broker: str,
        sensors: Sequence[WirelessSensor],
        interval: float = 5.0,
        journal: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host, self.port = _loopback_broker(broker)
        self.sensors = list(sensors)
        self.interval = interval
        self.journal = journal
        self.clock = clock
        epoch = clock()
        self.models = {s.name: ClassroomModel(s.seed, epoch) for s in self.sensors}
        self.pending: deque[tuple[WirelessSensor, int, bytes]] = deque()
        self.published = 0
        self.dropped = 0
        self._wakeup = asyncio.Event()

    async def run(self) -> None:
        """Measure and publish until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._measure())
            group.create_task(self._publish_forever())

    def measure_once(self) -> None:
        """Queue one reading of every sensor."""
        now = self.clock()
        t_ms = int(now * 1000)
        for sensor in self.sensors:
            values = self.models[sensor.name].sample(now)
            battery = max(5, 100 - (t_ms // 3_600_000 + sensor.seed) % 90)
            body = json.dumps(
                payload(values, t_ms, battery, nameplate(sensor)), separators=(",", ":")
            ).encode()
            self.pending.append((sensor, t_ms, body))
        while len(self.pending) > MAX_PENDING:
            self.pending.popleft()
            self.dropped += 1
        self._wakeup.set()

    async def _measure(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            self.measure_once()
            next_at += self.interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def _publish_forever(self) -> None:
        delay = 0.2
        while True:
            try:
                async with aiomqtt.Client(
                    self.host, self.port, identifier="sim-wireless-bridge", timeout=5
                ) as client:
                    delay = 0.2
                    await self._drain(client)
            except aiomqtt.MqttError as exc:
                log.warning("broker %s:%s: %s; retrying in %.1fs", self.host, self.port, exc, delay)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    async def _drain(self, client: aiomqtt.Client) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self.pending:
                sensor, t_ms, body = self.pending[0]
                await client.publish(sensor.topic, body, qos=1)
                # Acknowledged by the broker: only now is it the broker's to keep.
                self.pending.popleft()
                self.published += 1
                self._journal(sensor, t_ms, body)

    def _journal(self, sensor: WirelessSensor, t_ms: int, body: bytes) -> None:
        if self.journal is None:
            return
        line = json.dumps(
            {"t_ms": t_ms, "device": sensor.name, "topic": sensor.topic, "payload": json.loads(body)},
            separators=(",", ":"),
        )
        with self.journal.open("a", encoding="utf-8") as file:
            file.write(line + "\n")


def add_arguments(parser: argparse.ArgumentParser, in_campus: bool = False) -> None:
    """The sensors' options: ``--mqtt-broker``/``--wireless`` inside ``campus``, else
    ``--broker``/``--sensors``."""
    parser.add_argument(
        "--mqtt-broker" if in_campus else "--broker",
        dest="mqtt_broker",
        metavar="URL",
        help="mqtt://127.0.0.1:PORT of the broker the wireless sensors publish to",
    )
    parser.add_argument(
        "--wireless" if in_campus else "--sensors",
        dest="wireless",
        type=int,
        default=3,
        help="wireless classroom sensors publishing over MQTT (default 3)",
    )
    parser.add_argument(
        "--wireless-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between two readings of a wireless sensor (default 5)",
    )
    parser.add_argument(
        "--wireless-journal",
        type=Path,
        metavar="FILE",
        help="append a JSON line per message the broker acknowledged",
    )


def from_args(args: argparse.Namespace, seed: int = 1) -> WirelessSensors:
    """The sensors the parsed options describe; ValueError for a broker beyond loopback."""
    return WirelessSensors(
        args.mqtt_broker, build_sensors(args.wireless, seed), args.wireless_interval, args.wireless_journal
    )


async def serve(sensors: WirelessSensors) -> int:
    """Publish until SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    task = asyncio.create_task(sensors.run())
    for sensor in sensors.sensors:
        print(f"{sensor.name} {KIND} {sensor.topic}")
    print("ready", flush=True)
    await stop.wait()
    # Cancelled again until it ends: on Python 3.11 a cancellation that meets the end of a
    # publish's inner wait_for can be swallowed, and the publisher then waited forever for
    # readings the cancelled measuring task would never queue (a stop that hung past 20 s).
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m simulators.mqtt_sensors --broker URL [--sensors N] [--print-config]``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.mqtt_sensors",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--print-config", action="store_true", help="print the agent's [[devices.mqtt]] entry and exit"
    )
    args = parser.parse_args(argv)
    if not args.mqtt_broker:
        parser.error("--broker is required")
    try:
        sensors = from_args(args, args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        sys.stdout.write(render_config(args.mqtt_broker))
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(serve(sensors))


if __name__ == "__main__":
    sys.exit(main())
