"""Two stores: one down never holds the other back, and each gets every reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.accounting import books
from tests.support.processes import AgentProcess, SimulatedCampus, wait_for
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = pytest.mark.integration


def points(store: VictoriaMetrics) -> set[tuple[str, str, int]]:
    return {
        (s["metric"].get("device", ""), s["metric"]["__name__"].split("_")[0], ts)
        for s in store.export('{school="sh-two"}')
        for ts in s["timestamps"]
    }


def test_one_store_down_does_not_hold_the_other_back(tmp_path: Path, campus: SimulatedCampus) -> None:
    up = VictoriaMetrics(tmp_path / "vm-up")
    down = VictoriaMetrics(tmp_path / "vm-down")
    up.start()
    campus.start()
    config = tmp_path / "agent.toml"
    config.write_text(f"""
[agent]
school = "sh-two"
interval = "200ms"
state_dir = "state"
[buffer]
flush_interval = "200ms"
[[sinks.influxdb]]
name = "city"
url = "{up.url}"
bucket = "campus"
retry_max = "1s"
[[sinks.influxdb]]
name = "district"
url = "{down.url}"
bucket = "campus"
retry_max = "1s"
{campus.config()}
""")
    agent = AgentProcess(config)
    agent.start()
    try:
        # While "district" is unreachable, "city" gets every reading as it comes.
        wait_for(lambda: len(points(up)) >= 60, 30, what="points in the city store")
        state = books(tmp_path / "state" / "buffer.db", up, "sh-two", "district")
        assert state.still_buffered > 0 and state.acked == 0
        down.start()
        campus.stop()
        buffer_file = tmp_path / "state" / "buffer.db"

        def all_in_both() -> bool:
            accepted = books(buffer_file, up, "sh-two", "city").accepted
            return bool(points(down)) and points(down) == points(up) and len(points(up)) == accepted

        wait_for(all_in_both, 60, what="both stores to hold every reading")
        assert agent.stop() == 0
    finally:
        up.stop()
        down.stop()
