"""``python -m bench.city``: the city through one outage, its figures printed and plotted."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from . import RESULTS
from .plot import plot
from .report import figures, lines
from .rig import Plan
from .scenario import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.city", description=__doc__)
    parser.add_argument("--schools", type=int, default=40, help="agents, one per school (%(default)s)")
    parser.add_argument("--meters", type=int, default=3, help="simulated meters per school (%(default)s)")
    parser.add_argument("--outage", type=float, default=60, help="seconds every school is cut off")
    parser.add_argument("--warmup", type=float, default=20, help="seconds of normal work before the outage")
    parser.add_argument("--max-wait", type=float, default=900, help="longest wait for the catch-up")
    parser.add_argument(
        "--store-inserts",
        type=int,
        default=Plan.store_inserts,
        help="the store's -maxConcurrentInserts (%(default)s)",
    )
    parser.add_argument(
        "--store-queue", default=Plan.store_queue, help="the store's -insert.maxQueueDuration (%(default)s)"
    )
    parser.add_argument("--retry-max", default=Plan.retry_max, help="the sinks' retry_max (%(default)s)")
    parser.add_argument(
        "--backlog-hours",
        type=float,
        default=Plan.backlog_hours,
        help="hours of backlog in every buffer before the agents start (%(default)s)",
    )
    parser.add_argument(
        "--report",
        choices=("always", "on_change"),
        default=Plan.report,
        help="the meters' report, and the backlog's: every field, or what changed (%(default)s)",
    )
    parser.add_argument("--keep", type=Path, help="build the city in this folder and keep it (logs, buffers)")
    parser.add_argument("--name", default="city", help="results file names: NAME.png, NAME.json")
    args = parser.parse_args(argv)
    plan = Plan(
        schools=args.schools,
        meters=args.meters,
        store_inserts=args.store_inserts,
        store_queue=args.store_queue,
        retry_max=args.retry_max,
        backlog_hours=args.backlog_hours,
        report=args.report,
    )
    with tempfile.TemporaryDirectory(prefix="city-") as tmp:
        work = args.keep or Path(tmp)
        result = run(work, plan, warmup=args.warmup, outage=args.outage, max_wait=args.max_wait)
    print("\n".join(lines(result)))
    picture = plot(
        result.snapshots,
        RESULTS / f"{args.name}.png",
        f"{args.schools} schools, {args.outage:g} s outage, {os.cpu_count()} cores",
    )
    series = [
        {"t": round(s.t, 2), "phase": s.phase, "backlog": s.backlog, "store_rows": s.store.rows}
        for s in result.snapshots
    ]
    (RESULTS / f"{args.name}.json").write_text(
        json.dumps({"argv": sys.argv[1:], "figures": figures(result), "series": series}, indent=1) + "\n"
    )
    print(f"written: {picture}, {RESULTS / f'{args.name}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
