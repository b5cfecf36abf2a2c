"""Hours of backlog in a school's buffer before its agent starts: the rest of a long outage.

A city's outage lasts hours; a bench cannot wait that long. What the agent would have
buffered meanwhile is written straight into its buffer (as bench.backfill does) with the
agent's own buffer and line-protocol code: one point a second per meter, the meters' own
series and tags, timestamps ending before the agent starts so no live reading shares one.
The buffer counts them as accepted, so they are in the school's books like any reading.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from edge_agent.buffer import DiskBuffer
from edge_agent.lineprotocol import series_prefix
from edge_agent.normalise import identity_tags
from simulators import register_map

KIND = "energy-meter-3ph"
MEASUREMENT = "energy_meter"
BATCH = 5000


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


def prefill(buffer_file: Path, sink: str, school: str, devices: list[str], hours: float, end_ms: int) -> int:
    """Write ``hours`` of the school's meter points into its buffer; how many points."""
    buffer_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    disk = DiskBuffer(buffer_file, [sink], max_disk=2**40)
    total = 0
    try:
        span = 3600_000 * hours
        # An hour at a time, so a day of backlog never sits in memory at once.
        for start in range(int(end_ms - span), end_ms, 3600_000):
            lines = meter_lines(school, devices, start, min(start + 3600_000, end_ms))
            for first in range(0, len(lines), BATCH):
                disk.append(lines[first : first + BATCH])
            total += len(lines)
    finally:
        disk.close()
    return total
