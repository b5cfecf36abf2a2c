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


def test_report_on_change_runs_at_a_tiny_size() -> None:
    # Run by hand at 30 minutes (bench/README.md); here six seconds of the demo campus, both agents.
    result = subprocess.run(
        [sys.executable, "-m", "bench.report_on_change", "--minutes", "0.1", "--warmup", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = json.loads((ROOT / "bench" / "results" / "report-on-change-quick.json").read_text())
    figures = written["figures"]
    assert all(isinstance(v, int | float) for v in figures.values())
    for side in ("always", "on_change"):
        assert figures[f"{side}.points_per_s"] > 0 and figures[f"{side}.store_data_bytes"] > 0
    # The check of the store against every poll ran: it compared something, field by field.
    assert figures["deadband.instants_compared"] > 0 and figures["deadband.fields_checked"] > 0
