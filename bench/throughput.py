"""End-to-end throughput: simulated meters (40 registers, 20 float32 fields, the device shape
of bench.footprint) polled as fast as they answer, through normalise,
buffer and forwarder into VictoriaMetrics. The figure is fields per CPU-second of the agent
process (its user + system time), so the simulators' and the store's share of the two cores
does not count against it.

Run: make bench (or python -m bench.throughput --seconds 20 --meters 16)
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from edge_agent.buffer import DiskBuffer
from tests.support.processes import AgentProcess, SimulatedCampus, wait_for
from tests.support.victoriametrics import VictoriaMetrics

from .measure import cpu_seconds, write_profile_40

FIELDS_PER_POINT = 20  # the bench-40 profile


def counters(buffer_file: Path) -> dict[str, int]:
    """The buffer's counters; none while the agent is still creating the file."""
    try:
        disk = DiskBuffer(buffer_file, [], 10**12, readonly=True)
    except (FileNotFoundError, sqlite3.Error):
        return {}
    try:
        return disk.stats().counters
    finally:
        disk.close()


def measure(seconds: float = 20, meters: int = 16) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = VictoriaMetrics(work / "vm")
        store.start()
        campus = SimulatedCampus(work / "campus", classrooms=0, meters=meters, machines=0)
        campus.start()
        config = work / "agent" / "agent.toml"
        config.parent.mkdir()
        write_profile_40(config.parent)
        devices = campus.config().replace('profile = "energy-meter-3ph"', 'profile = "bench-40"')
        config.write_text(f"""
[agent]
school = "bench"
interval = "10ms"
state_dir = "state"
[buffer]
flush_interval = "250ms"
[log]
level = "warning"
format = "json"
[[sinks.influxdb]]
name = "store"
url = "{store.url}"
bucket = "bench"
{devices}
""")
        agent = AgentProcess(config)
        agent.start()
        assert agent.process is not None
        pid = agent.process.pid
        buffer_file = config.parent / "state" / "buffer.db"
        try:
            wait_for(lambda: counters(buffer_file).get("accepted", 0) > 0, 30, what="the first points")
            cpu0, wall0, done0 = cpu_seconds(pid), time.monotonic(), counters(buffer_file)
            time.sleep(seconds)
            cpu1, wall1, done1 = cpu_seconds(pid), time.monotonic(), counters(buffer_file)
        finally:
            agent.stop()
            campus.stop()
            store.stop()
    delivered = done1.get("delivered:store", 0) - done0.get("delivered:store", 0)
    cpu = cpu1 - cpu0
    return {
        "agent_cpu_share_of_one_core": cpu / (wall1 - wall0),
        "points_delivered_per_s": delivered / (wall1 - wall0),
        "fields_per_cpu_second": delivered * FIELDS_PER_POINT / cpu,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--meters", type=int, default=16)
    args = parser.parse_args(argv)
    figures = measure(args.seconds, args.meters)
    print(
        f"end-to-end throughput ({args.meters} meters x {FIELDS_PER_POINT} fields, "
        f"{args.seconds:g}s, {os.cpu_count()} cores)"
    )
    for name, value in figures.items():
        print(f"  {name:<30} {value:>14,.2f}")
    print("  target: fields_per_cpu_second >= 100,000")
    return 0


if __name__ == "__main__":
    sys.exit(main())
