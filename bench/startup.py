"""Start-up: how long ``edge-agent check`` takes, and from ``edge-agent run`` to the first
point committed to the buffer (process start, imports, config, first poll, first commit).

Run: make bench (or python -m bench.startup)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edge_agent.buffer import DiskBuffer
from tests.support.processes import AgentProcess, SimulatedCampus

RUNS = 5


def first_point_s(config: Path) -> float:
    """Seconds from spawning the agent until its buffer holds a point."""
    buffer_file = config.parent / "state" / "buffer.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{buffer_file}{suffix}").unlink(missing_ok=True)
    agent = AgentProcess(config)
    started = time.monotonic()
    agent.start()
    try:
        while time.monotonic() - started < 60:
            if buffer_file.exists():
                try:
                    disk = DiskBuffer(buffer_file, [], 10**12, readonly=True)
                    points = disk.stats().points
                    disk.close()
                except Exception:
                    points = 0
                if points:
                    return time.monotonic() - started
            time.sleep(0.01)
        raise RuntimeError("no point within 60 s")
    finally:
        agent.stop()


def measure(runs: int = RUNS) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        campus = SimulatedCampus(work / "campus", classrooms=4, meters=2, machines=2)
        campus.start()
        config = work / "agent" / "agent.toml"
        config.parent.mkdir()
        config.write_text(f"""
[agent]
school = "bench"
interval = "1s"
state_dir = "state"
[buffer]
flush_interval = "100ms"
[log]
level = "warning"
format = "json"
{campus.config()}
""")
        checks = []
        for _ in range(runs):
            started = time.monotonic()
            subprocess.run(
                [sys.executable, "-m", "edge_agent", "check", str(config)], check=True, capture_output=True
            )
            checks.append(time.monotonic() - started)
        firsts = [first_point_s(config) for _ in range(runs)]
        campus.stop()
    return {"check_s_median": statistics.median(checks), "first_point_s_median": statistics.median(firsts)}


def main() -> int:
    figures = measure()
    print(f"start-up ({RUNS} runs each, 8 devices, {os.cpu_count()} cores)")
    for name, value in figures.items():
        print(f"  {name:<30} {value:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
