"""Hours of backlog in a school's buffer before its agent starts: the rest of a long outage.

A city's outage lasts hours; a bench cannot wait that long. What the agent would have
buffered meanwhile is written straight into its buffer (as bench.backfill does) with the
agent's own buffer and line-protocol code: one point a second per meter, the meters' own
series and tags, timestamps ending before the agent starts so no live reading shares one.
The buffer counts them as accepted, so they are in the school's books like any reading.

A school whose meters report on change buffers far fewer rows, and a catch-up is a matter
of rows, so its backlog is what such a school writes: :func:`changed_lines` runs each
meter's simulated physics (the simulators' own model, its seed, float32 as the registers
carry it) second by second over a simulated school day, through the agent's own change
filter with the school's config (the profile's deadbands) and the agent's own encoder.

An outage's buffer also holds the agent's own points, written every agent interval whatever
the devices do (:func:`own_lines`): a tenth of a school's rows when its meters send every
field, more than its meters' when they report on change.
"""

from __future__ import annotations

import struct
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from campus_core.readings import Reading
from campus_core.reporting import policy as report_policy
from edge_agent import selfmetrics
from edge_agent.buffer import BufferStats, DiskBuffer
from edge_agent.config import load
from edge_agent.devicetasks import encoder_for
from edge_agent.lineprotocol import series_prefix
from edge_agent.normalise import PointEncoder, identity_tags
from edge_agent.reporting import ChangeFilter
from edge_agent.status import AgentStatus, DeviceStatus
from simulators import register_map
from simulators.models import make_model

KIND = "energy-meter-3ph"
MEASUREMENT = "energy_meter"
BATCH = 5000
HOUR_MS = 3600_000
#: Where an on-change backlog's values come from: a school day's simulated clock from 06:00
#: (the demo's school day), so 12 hours hold the morning ramp, the school-hours load and the
#: evening ramp, the busier half of the day. Only the values: the timestamps are the hours
#: before the agents start, as for every backlog.
SCHOOL_DAY = datetime(2026, 9, 8, 6, 0, tzinfo=UTC).timestamp()


@dataclass
class Backlog:
    """What was written into one school's buffer."""

    points: int = 0
    rows: int = 0  # fields: one row each in the store
    #: Of those, the agent's own points (``edge_agent`` and ``edge_agent_device``) and rows.
    own_points: int = 0
    own_rows: int = 0


def meter_lines(
    school: str, devices: list[str], start_ms: int, end_ms: int, step_ms: int = 1000
) -> list[str]:
    """Lines a school's meters would have sent from ``start_ms`` to ``end_ms`` (devices as TOML blocks)."""
    values = ",".join(f"{spec.field}={230.0 + i * 0.5}" for i, spec in enumerate(register_map(KIND)))
    prefixes = []
    for block in devices:
        device = tomllib.loads(block)["devices"]["modbus"][0]
        tags = {"kind": KIND, **identity_tags(school, "main", device["name"], device.get("tags", {}))}
        prefixes.append(series_prefix(MEASUREMENT, tags))
    return [f"{prefix} {values} {ts}" for ts in range(start_ms, end_ms, step_ms) for prefix in prefixes]


def changed_lines(
    config: Path, start_ms: int, end_ms: int, step_ms: int = 1000
) -> Iterator[tuple[list[str], int]]:
    """What the meters of the school at ``config`` send on change from ``start_ms`` to
    ``end_ms``, an hour at a time: its lines and their fields. The values are :data:`SCHOOL_DAY`'s.

    Each ``meter-N`` is modelled as the simulators model it (seed N: their first device is
    seeded 1, the next 2, ...), read every ``step_ms`` and rounded to float32 as the
    registers carry it; the agent's change filter for that device (its config's report
    keys over the profile's deadbands) keeps what would be sent, the agent's encoder for
    that device writes it.
    """
    loaded = load(config).config
    names = tuple(spec.field for spec in register_map(KIND))
    registers = struct.Struct(f">{len(names)}f")
    meters = []
    for _, device in loaded.devices.all():
        rules = report_policy(*device.reporting())
        model = make_model(KIND, int(device.name.rsplit("-", 1)[1]), SCHOOL_DAY)
        meters.append(
            (device.name, model, ChangeFilter(rules) if rules else None, encoder_for(loaded, device))
        )
    for hour in range(start_ms, end_ms, HOUR_MS):
        lines: list[str] = []
        rows = 0
        for ts in range(hour, min(hour + HOUR_MS, end_ms), step_ms):
            at = SCHOOL_DAY + (ts - start_ms) / 1000
            for name, model, changes, encoder in meters:
                sample = model.sample(at)
                values = registers.unpack(registers.pack(*(float(sample[field]) for field in names)))
                readings = [Reading(name, ts, names, values)]
                for reading in changes.apply(readings) if changes else readings:
                    line = encoder.encode(reading)
                    if line is not None:
                        lines.append(line)
                        rows += len(reading.names)
        yield lines, rows


def own_lines(config: Path, start_ms: int, end_ms: int) -> Iterator[tuple[list[str], int]]:
    """The agent's own points from ``start_ms`` to ``end_ms``, an hour at a time (lines, fields).

    Made by edge_agent.selfmetrics itself, every agent interval as its loop does, from a
    status in which every device of ``config`` answers: the gateway's ``edge_agent`` point
    and an ``edge_agent_device`` point per device, each encoded as the agent encodes it.
    """
    loaded = load(config).config
    status = AgentStatus(started_ms=start_ms, buffer=BufferStats(0, 0, 0, []))
    encoders: dict[str, PointEncoder] = {selfmetrics.SELF_KEY: selfmetrics.encoder(loaded)}
    for protocol, device in loaded.devices.all():
        status.devices[device.name] = DeviceStatus(
            device.name, protocol, loaded.interval_of(device), since_ms=start_ms
        )
        encoders[device.name] = encoder_for(loaded, device)
    step = int(loaded.agent.interval * 1000)
    for hour in range(start_ms, end_ms, HOUR_MS):
        lines: list[str] = []
        rows = 0
        for ts in range(hour, min(hour + HOUR_MS, end_ms), step):
            for answering in status.devices.values():
                answering.polls += 1
                answering.last_ok_ms = answering.last_data_ms = ts
            for reading in [
                selfmetrics.reading(status, ts),
                *selfmetrics.device_readings(status, ts, encoders),
            ]:
                line = encoders[reading.device].encode(reading)
                if line is not None:
                    lines.append(line)
                    rows += len(reading.names)
        yield lines, rows


def prefill(
    buffer_file: Path,
    sink: str,
    school: str,
    devices: list[str],
    hours: float,
    end_ms: int,
    config: Path,
    on_change: bool = False,
) -> Backlog:
    """Write ``hours`` of the school's meter points and its agent's own into its buffer;
    how many points and rows.

    ``config``: the school's agent config; ``on_change``: its meters report on change
    (:func:`changed_lines`), else they send every field of every poll.
    """
    buffer_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    disk = DiskBuffer(buffer_file, [sink], max_disk=2**40)
    total = Backlog()
    try:
        start_ms = int(end_ms - HOUR_MS * hours)
        if on_change:
            hourly: Iterator[tuple[list[str], int]] = changed_lines(config, start_ms, end_ms)
        else:
            # An hour at a time, so a day of backlog never sits in memory at once.
            fields = len(register_map(KIND))
            hourly = (
                (lines, len(lines) * fields)
                for start in range(start_ms, end_ms, HOUR_MS)
                for lines in [meter_lines(school, devices, start, min(start + HOUR_MS, end_ms))]
            )
        for (meters, rows), (own, own_rows) in zip(hourly, own_lines(config, start_ms, end_ms), strict=True):
            lines = meters + own
            for first in range(0, len(lines), BATCH):
                disk.append(lines[first : first + BATCH])
            total.points += len(lines)
            total.rows += rows + own_rows
            total.own_points += len(own)
            total.own_rows += own_rows
    finally:
        disk.close()
    return total
