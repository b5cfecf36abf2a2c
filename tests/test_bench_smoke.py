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


def meter_config(tmp_path: Path, report: str) -> Path:
    """A school of one simulated meter, as bench.city writes its agents' configs."""
    config = tmp_path / report / "agent.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f"""
[agent]
school = "sh-001"
state_dir = "state"

[[devices.modbus]]
name = "meter-2"
host = "127.0.0.1"
port = 15023
profile = "energy-meter-3ph"
interval = "1s"
report = "{report}"
tags = {{ building = "B", room = "plant-2" }}
""")
    return config


def test_the_city_backlog_of_an_on_change_school_is_what_its_change_filter_keeps(tmp_path: Path) -> None:
    from bench.city.backlog import changed_lines, own_lines

    ten_minutes = 600_000
    always = list(changed_lines(meter_config(tmp_path, "always"), 0, ten_minutes))
    changes = list(changed_lines(meter_config(tmp_path, "on_change"), 0, ten_minutes))
    assert [(len(lines), rows) for lines, rows in always] == [(600, 600 * 12)]  # every field, every second
    [(lines, rows)] = changes
    # The kWh counter moves most seconds under a school's load; the rest mostly holds still.
    assert 0 < len(lines) <= 600 and len(lines) <= rows < 600 * 2
    assert all(line.startswith("energy_meter,building=B,") and ",school=sh-001 " in line for line in lines)
    assert lines[0].count("=") == 12 + 6  # the first poll goes out whole: 12 fields and 6 tags
    # Beside them, the agent's own points every agent interval (10 s): the gateway's and the meter's liveness.
    [(own, own_rows)] = list(own_lines(meter_config(tmp_path / "own", "always"), 0, ten_minutes))
    assert sorted({line.split(",", 1)[0] for line in own}) == ["edge_agent", "edge_agent_device"]
    assert len(own) == 2 * 60 and own_rows > len(own)
