"""The agent's own health as points: the ``edge_agent`` measurement, every agent interval.

The points take the normal way (pipeline, buffer, forwarder), so central ops can query
every gateway's health from the store, and a gateway that was cut off tells afterwards
how it fared during the outage. The fields are described in docs/schema.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from campus_core.clock import now_ms
from campus_core.readings import FieldValue, Reading

from . import __version__
from .buffer import AsyncBuffer
from .config import AgentConfig
from .inforce import InForce
from .normalise import PointEncoder
from .status import AgentStatus

log = structlog.get_logger("edge_agent.selfmetrics")

MEASUREMENT = "edge_agent"
#: One point per device beside the gateway's: whether it answers, for alerts per device.
DEVICE_MEASUREMENT = "edge_agent_device"
#: The pipeline's encoder key for these points: never a device name (those start with a
#: letter or a digit).
SELF_KEY = "@edge_agent"


def encoder(config: AgentConfig) -> PointEncoder:
    """Tags of the agent's own points: school, campus and the agent's version."""
    return PointEncoder(
        MEASUREMENT,
        {
            "school": config.agent.school,
            "campus": config.agent.campus,
            "version": __version__,
        },
    )


def reading(status: AgentStatus, now: int) -> Reading:
    """One ``edge_agent`` point from the live counters and the latest buffer snapshot."""
    sinks = status.sinks.values()
    fields: list[tuple[str, FieldValue]] = [
        ("uptime_s", status.uptime_s(now)),
        ("devices", float(len(status.devices))),
        ("devices_ok", float(len(status.devices_up()))),
        ("devices_failed", float(len(status.devices_down()))),
        ("points_accepted", float(status.points_accepted)),
        ("points_dropped", float(status.points_dropped)),
        ("points_sent", float(sum(s.sent_points for s in sinks))),
        ("points_dead_lettered", float(sum(s.dead_points for s in sinks))),
        ("sink_failures", float(sum(s.failures for s in sinks))),
        ("sink_auth_failures", float(sum(s.auth_failures for s in sinks))),
        ("buffer_errors", float(status.buffer_errors)),
        ("reloads", float(status.reloads)),
        # The city's bundle in force (0: the local config alone) and the bundles refused.
        ("config_version", float(status.bundle.version)),
        ("config_refused_total", float(status.bundle.refused_total)),
    ]
    buffer = status.buffer
    if buffer is not None:
        fields += [("buffer_points", float(buffer.points)), ("buffer_bytes", float(buffer.bytes))]
        oldest = [b.oldest_ms for b in buffer.backlog if b.oldest_ms]
        fields.append(("buffer_oldest_age_s", max(0.0, (now - min(oldest)) / 1000) if oldest else 0.0))
    return Reading.of(SELF_KEY, now, tuple(fields))


def device_readings(status: AgentStatus, now: int, encoders: dict[str, PointEncoder]) -> list[Reading]:
    """One ``edge_agent_device`` point per device (docs/schema.md): is it answering.

    Each is encoded with its device's own encoder, so it carries the device's identity
    (device, building, room, kind, asset_id) and an alert on it can name the room.
    ``silent_s`` counts from the last reading, or from when the agent began to work the
    device if none came yet, so one number serves polled and pushed devices alike.
    """
    out = []
    for device in status.devices.values():
        if device.name not in encoders:
            continue
        silent_ms = now - (device.last_ok_ms if device.last_ok_ms is not None else device.since_ms)
        out.append(
            Reading.of(
                device.name,
                now,
                (
                    ("up", 1.0 if device.up else 0.0),
                    ("consecutive_failures", float(device.consecutive_failures)),
                    ("silent_s", max(0.0, silent_ms / 1000)),
                    ("interval_s", float(device.interval)),
                ),
                measurement=DEVICE_MEASUREMENT,
            )
        )
    return out


class SelfMetrics:
    """Refreshes the buffer snapshot and writes an ``edge_agent`` point every agent interval."""

    def __init__(
        self,
        status: AgentStatus,
        buffer: AsyncBuffer,
        encoders: dict[str, PointEncoder],
        accept: Callable[[list[Reading]], None],
        in_force: InForce,
    ) -> None:
        self._status = status
        self._buffer = buffer
        self._encoders = encoders
        self._accept = accept
        self._in_force = in_force  # read at every turn: a reload may change the interval or tags
        self._tagged: tuple[str, str] | None = None

    async def refresh(self) -> None:
        """Take a new snapshot of the buffer into the status."""
        self._status.buffer = await self._buffer.stats()
        self._status.buffer_at_ms = now_ms()

    async def run(self) -> None:
        """Until cancelled: a point now, then one every interval."""
        while True:
            config = self._in_force.config
            try:
                await self.refresh()
            except Exception as exc:
                # The pipeline reports buffer trouble itself; the point goes out without a snapshot.
                log.warning("cannot read the buffer's figures", error=str(exc))
            if config.health.self_metrics:
                identity = (config.agent.school, config.agent.campus)
                if identity != self._tagged:
                    self._encoders[SELF_KEY] = encoder(config)
                    self._tagged = identity
                now = now_ms()
                devices = device_readings(self._status, now, self._encoders)
                self._accept([reading(self._status, now), *devices])
            await asyncio.sleep(config.agent.interval)
