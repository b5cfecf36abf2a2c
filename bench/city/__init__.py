"""A city of schools on one machine, and the store after every gateway comes back at once.

N real agent processes (``python -m edge_agent run``), each a school with a few simulated
meters polled every second, write through vmauth (one bearer token per school, as
``campus-ops vmauth`` renders it) into one VictoriaMetrics whose ingest is limited
(``-maxConcurrentInserts``, ``-insert.maxQueueDuration``). Every school is cut off for D
seconds, then restored; the bench reports how long the city takes to catch up, requests
sent per batch delivered, the 429/503 answers, the store's ingest over time, the agents'
CPU and memory, the books of every school, and the store's raw ingest time for the same
rows. A plot goes to bench/results/.

Run: ``python -m bench.city [--schools 40] [--outage 60] [--backlog-hours 12]`` (bench/README.md).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .plot import plot
from .report import figures
from .rig import Plan
from .scenario import Run, run

__all__ = ["Plan", "Run", "measure", "run"]

RESULTS = Path(__file__).resolve().parents[1] / "results"


def measure(
    plan: Plan | None = None, outage: float = 60, warmup: float = 20, picture: str = "city.png"
) -> dict[str, float]:
    """One run of ``plan`` (40 schools by default); its figures, its plot in bench/results/``picture``."""
    plan = plan or Plan()
    with tempfile.TemporaryDirectory(prefix="city-") as tmp:
        result = run(Path(tmp), plan, warmup=warmup, outage=outage)
    plot(result.snapshots, RESULTS / picture, f"{plan.schools} schools, {outage:g} s outage")
    return figures(result)
