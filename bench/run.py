"""``make bench``: every benchmark, each figure with its target, into bench/results/latest.json.

``--quick`` runs each one at a tiny size, only to show it still works (``make test`` does
that); its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from . import backfill, city, efficiency, footprint, pipeline, ratio, startup, throughput

RESULTS = Path(__file__).parent / "results"

#: figure -> (">=" or "<=", target) as the issue for the benchmarks states them.
TARGETS: dict[str, tuple[str, float]] = {
    "throughput.fields_per_cpu_second": (">=", 100_000),
    "ratio.ratio_agent_to_bare": (">=", 0.8),
    "ratio.agent_fields_per_s_delivered": (">=", 400_000),
    "footprint.agent_cpu_share_of_one_core": ("<=", 0.03),
    "footprint.missed_polls": ("<=", 0),
    "pipeline.append_points_per_s": (">=", 1_000_000),
    "pipeline.replay_points_per_s": (">=", 300_000),
    "backfill.drain_minutes": ("<=", 5),
    "city.catch_up_over_raw": ("<=", 1.5),
    "city.requests_per_delivered_batch": ("<=", 1.2),
    "city.dropped_points": ("<=", 0),
    "city.duplicate_points": ("<=", 0),
}

Bench = Callable[[], dict[str, float]]


def benches(quick: bool) -> dict[str, Bench]:
    """Each benchmark at full size, or tiny."""
    if quick:
        return {
            "pipeline": lambda: pipeline.measure(points=5_000),
            "efficiency": efficiency.measure,
            "throughput": lambda: throughput.measure(seconds=2, meters=2),
            "ratio": lambda: ratio.measure(seconds=1, devices=2, registers=10, rounds=1),
            "startup": lambda: startup.measure(runs=1),
            "backfill": lambda: backfill.measure(hours=0.01),
            "footprint": lambda: footprint.measure(
                3, modbus=5, switches=1, sensors=2, modbus_interval="1s", snmp_interval="2s"
            ),
            "city": lambda: city.measure(
                city.Plan(schools=2, meters=1, retry_max="2s", backlog_hours=0.05),
                outage=3,
                warmup=2,
                picture="city-quick.png",
            ),
        }
    return {
        "pipeline": pipeline.measure,
        "efficiency": efficiency.measure,
        "throughput": throughput.measure,
        "ratio": ratio.measure,
        "startup": startup.measure,
        "backfill": backfill.measure,
        "footprint": footprint.measure,
        "city": city.measure,
    }


def _deflate() -> str:
    """Which deflate wrote the buffer's batches (isal where it has a wheel, else zlib)."""
    try:
        return f"isal {metadata.version('isal')}"
    except metadata.PackageNotFoundError:
        return "zlib"


def verdict(name: str, value: float) -> str:
    target = TARGETS.get(name)
    if target is None:
        return ""
    sign, limit = target
    ok = value >= limit if sign == ">=" else value <= limit
    return f"target {sign} {limit:,g}: {'met' if ok else 'NOT met'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    args = parser.parse_args(argv)
    context = {
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "agent": metadata.version("campus-edge-agent"),
        "pymodbus": metadata.version("pymodbus"),
        "pysnmp": metadata.version("pysnmp"),
        "deflate": _deflate(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": args.quick,
    }
    results: dict[str, dict[str, float]] = {}
    for name, bench in benches(args.quick).items():
        if args.only and name not in args.only:
            continue
        print(f"{name} ...", flush=True)
        started = time.monotonic()
        results[name] = bench()
        for figure, value in results[name].items():
            print(f"  {figure:<48} {value:>16,.2f}  {verdict(f'{name}.{figure}', value)}")
        print(f"  ({time.monotonic() - started:.0f} s)", flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("quick.json" if args.quick else "latest.json")
    if args.only and out.exists():
        # A partial run updates its benchmarks and keeps the others' last figures.
        results = {**json.loads(out.read_text()).get("results", {}), **results}
    out.write_text(
        json.dumps(
            {"context": context, "results": results, "targets": {k: list(v) for k, v in TARGETS.items()}},
            indent=2,
        )
        + "\n"
    )
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
