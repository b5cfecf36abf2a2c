"""The benchmarks still run: each at a tiny size, figures present, nothing timed or judged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.integration


def test_every_benchmark_runs_at_a_tiny_size() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = json.loads((ROOT / "bench" / "results" / "quick.json").read_text())
    assert set(written["results"]) == {
        "pipeline",
        "efficiency",
        "throughput",
        "ratio",
        "startup",
        "backfill",
        "footprint",
        "city",
    }
    for figures in written["results"].values():
        assert figures and all(isinstance(v, int | float) for v in figures.values())
    assert written["context"]["cores"] >= 1
