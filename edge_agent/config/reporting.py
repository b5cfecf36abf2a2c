"""What a config's report-on-change settings need beyond each model's own checks.

A heartbeat shorter than the device's poll interval cannot be kept (the device is read no
more often than that): an error naming the device and key. A heartbeat longer than a
store's five-minute lookback is allowed, but a dashboard then needs a wider window to find
the value: ``edge-agent check`` says which query.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from campus_core.devices import DeviceConfig
from campus_core.reporting import DEFAULT_HEARTBEAT, heartbeats
from campus_core.units import format_duration

from .errors import Loc
from .model import AgentConfig


@dataclass(frozen=True)
class _Heartbeat:
    """One heartbeat an ``on_change`` device keeps, and where the config set it."""

    protocol: str
    position: int
    device: DeviceConfig
    field: str | None
    seconds: float
    interval: float


def _on_change(config: AgentConfig) -> Iterator[_Heartbeat]:
    index: dict[str, int] = {}
    for protocol, device in config.devices.all():
        position = index[protocol] = index.get(protocol, -1) + 1
        interval = config.interval_of(device)
        for field, seconds in heartbeats(*device.reporting()):
            yield _Heartbeat(protocol, position, device, field, seconds, interval)


def heartbeat_problems(config: AgentConfig) -> list[tuple[Loc, str, float]]:
    """``(key path, message, heartbeat given)`` for each heartbeat shorter than its device's interval."""
    found: list[tuple[Loc, str, float]] = []
    for beat in _on_change(config):
        if beat.device.pushed or beat.seconds >= beat.interval:
            continue
        what = f"field {beat.field!r}: " if beat.field else ""
        interval = format_duration(beat.interval)
        found.append(
            (
                ("devices", beat.protocol, beat.position, "heartbeat"),
                f"{what}heartbeat {format_duration(beat.seconds)} is shorter than the device's interval "
                f"{interval}: it is read no more often than that; make it at least {interval}",
                beat.seconds,
            )
        )
    return found


def heartbeat_warnings(config: AgentConfig) -> list[str]:
    """A heartbeat past a store's 5-minute lookback, with the query a dashboard then needs."""
    found = []
    for beat in _on_change(config):
        if beat.seconds <= DEFAULT_HEARTBEAT:
            continue
        window = format_duration(beat.seconds + beat.interval)
        what = f"field {beat.field}" if beat.field else "its fields"
        found.append(
            f"device {beat.device.name} ({beat.protocol}): {what} may go {format_duration(beat.seconds)} "
            "unsent, longer than a store's 5-minute lookback; a panel that shows 'now' must ask "
            f"last_over_time(<metric>[{window}]) (docs/central.md, 'Sparse series')"
        )
    return found
