"""Hot-path figures: encoding readings to line protocol, buffer append and replay.

Prints points/s for each stage and bytes on disk per point. Run: make bench
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from campus_core.readings import Reading
from edge_agent import __version__
from edge_agent.buffer import DiskBuffer
from edge_agent.normalise import PointEncoder, identity_tags

FIELDS = 12  # an energy meter's poll
POINTS = 200_000
BATCH = 5000


def readings(count: int) -> list[Reading]:
    names = [f"field_{i}_v" for i in range(FIELDS)]
    return [
        Reading.of("meter-1", 1_700_000_000_000 + i, tuple((n, 230.0 + i % 97 * 0.1) for n in names))
        for i in range(count)
    ]


def measure(points: int = POINTS) -> dict[str, float]:
    encoder = PointEncoder(
        "energy_meter", identity_tags("sh-031", "main", "meter-1", {"building": "A", "room": "plant-1"})
    )
    batch = readings(points)
    started = time.perf_counter()
    lines = [encoder.encode(r) for r in batch]
    encode_s = time.perf_counter() - started
    encoded = [line for line in lines if line is not None]

    with tempfile.TemporaryDirectory() as tmp:
        buffer = DiskBuffer(Path(tmp) / "b.db", ["store"], max_disk=10**10)
        started = time.perf_counter()
        for i in range(0, len(encoded), BATCH):
            buffer.append(encoded[i : i + BATCH])
        append_s = time.perf_counter() - started
        size = os.path.getsize(Path(tmp) / "b.db") + os.path.getsize(Path(tmp) / "b.db-wal")
        started = time.perf_counter()
        replayed = 0
        while batches := buffer.read("store", 50_000):
            replayed += sum(b.points for b in batches)
            buffer.ack("store", batches)
        replay_s = time.perf_counter() - started
        buffer.close()
    assert replayed == points
    return {
        "encode_points_per_s": points / encode_s,
        "encode_fields_per_s": points * FIELDS / encode_s,
        "append_points_per_s": points / append_s,
        "replay_points_per_s": points / replay_s,
        "disk_bytes_per_point": size / points,
    }


def main() -> int:
    figures = measure()
    context = {"cores": os.cpu_count(), "python": platform.python_version(), "agent": __version__}
    print(f"pipeline hot path ({POINTS} points of {FIELDS} fields; {context})")
    for name, value in figures.items():
        print(f"  {name:<24} {value:>14,.1f}")
    out = Path(__file__).parent / "results" / "pipeline.json"
    out.write_text(json.dumps({"context": context, "figures": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
