"""Backfill: the backlog of a 24-hour outage at the campus load of bench.footprint, drained
into VictoriaMetrics by the agent's own forwarder and InfluxDB sink.

The backlog is written straight into a buffer (1,000 meters x 20 fields every 10 s, 100
switches x 48 port rows of 9 fields every 60 s, 200 sensors x 5 fields every 10 s), then
the forwarder sends it; the figure is points/s and minutes until the buffer is empty.
Both the agent and the store share the machine's cores, so the store's ingest rate is
part of what is measured.

Run: make bench (or python -m bench.backfill --hours 24)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import structlog

from campus_core.clock import now_ms
from edge_agent.buffer import AsyncBuffer, DiskBuffer
from edge_agent.forwarder import Forwarder
from edge_agent.sinks.influxdb import InfluxDBSink
from edge_agent.sinks.influxdb_config import InfluxDBSink as SinkConfig
from edge_agent.status import AgentStatus, SinkStatus
from tests.support.victoriametrics import VictoriaMetrics

BATCH = 5000


def backlog(hours: float, end_ms: int) -> Iterator[str]:
    """The campus's lines over ``hours`` up to ``end_ms``, oldest first, interval by interval."""
    start_ms = end_ms - int(hours * 3600_000)
    meter = ",".join(f"value_{i:02d}={230.0 + i * 0.5}" for i in range(20))
    port = (
        "in_bps=1.2e7,out_bps=3.4e6,in_packets_ps=1200.0,out_packets_ps=800.0,in_errors_ps=0.0,"
        "out_errors_ps=0.0,in_discards_ps=0.0,out_discards_ps=0.0,speed_bps=1e9"
    )
    sensor = "co2_ppm=612.0,temperature_c=21.5,humidity_pct=45.2,pm25_ugm3=12.3,battery_pct=88.0"
    for ts in range(start_ms, end_ms, 10_000):
        for d in range(1000):
            yield f"bench_meter,campus=main,device=meter-{d},school=bench {meter} {ts}"
        for s in range(200):
            yield f"classroom_env,campus=main,device=wireless,school=bench,sensor=s{s} {sensor} {ts}"
        if (ts - start_ms) % 60_000 == 0:
            for sw in range(100):
                for p in range(1, 49):
                    yield f"interface,campus=main,device=switch-{sw},ifindex={p},school=bench {port} {ts}"


def fill(path: Path, hours: float) -> int:
    disk = DiskBuffer(path, ["store"], max_disk=2**40)
    batch: list[str] = []
    total = 0
    for line in backlog(hours, now_ms() - 60_000):
        batch.append(line)
        if len(batch) == BATCH:
            disk.append(batch)
            total += BATCH
            batch = []
    if batch:
        disk.append(batch)
        total += len(batch)
    disk.close()
    return total


async def drain(path: Path, url: str) -> float:
    status = AgentStatus()
    status.sinks["store"] = SinkStatus("store", url)
    buffer = AsyncBuffer(lambda: DiskBuffer(path, ["store"], max_disk=2**40))
    await buffer.open()
    forwarder = Forwarder(
        buffer, [InfluxDBSink(SinkConfig(url=url, bucket="bench", name="store", timeout="60s"))], status
    )
    started = time.monotonic()
    task = asyncio.create_task(forwarder.run())
    try:
        while not await forwarder.drained(1.0):
            pass
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await buffer.close()
    return time.monotonic() - started


def measure(hours: float = 24) -> dict[str, float]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.monotonic()
        points = fill(work / "buffer.db", hours)
        fill_s = time.monotonic() - started
        size = sum(p.stat().st_size for p in work.glob("buffer.db*"))
        store = VictoriaMetrics(work / "vm")
        store.start()
        try:
            seconds = asyncio.run(drain(work / "buffer.db", store.url))
        finally:
            store.stop()
    return {
        "backlog_hours": hours,
        "backlog_points": points,
        "backlog_mb_on_disk": size / 2**20,
        "fill_points_per_s": points / fill_s,
        "drain_points_per_s": points / seconds,
        "drain_minutes": seconds / 60,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=24)
    args = parser.parse_args(argv)
    figures = measure(args.hours)
    print(f"backfill ({args.hours:g} h of campus load, {os.cpu_count()} cores)")
    for name, value in figures.items():
        print(f"  {name:<24} {value:>14,.2f}")
    print("  target: drain_minutes < 5 for 24 h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
