"""The city's dashboards: the committed JSON is the generator's, and every panel shows data.

Every panel's query runs against a real VictoriaMetrics filled by a real agent polling the
simulated campus, its devices reporting on change, with a real vmalert evaluating the central
rules beside it (the roll-ups and ALERTS some panels read are vmalert's output); one
classroom of another school is put above the CO2 limit so that an alert fires. And every
panel finds a steady campus, whose devices sent their last readings at the heartbeat minutes
ago, at every moment: in a table now, and in a chart without gaps between the readings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from campus_ops import dashboards
from campus_ops.store import Store
from tests.central import quiet
from tests.central.campus import agent_on_campus, write_lines
from tests.central.rules import fast_copies
from tests.central.servers import VMAlert
from tests.integration.conftest import store
from tests.support.processes import wait_for
from tests.support.victoriametrics import VictoriaMetrics

__all__ = ["store"]  # the fixture, shared with the integration tests

#: What a person picking "All" in a template variable sends.
ALL = ".+"


def test_the_committed_dashboards_are_the_generators() -> None:
    committed = {path.name: path.read_text() for path in dashboards.DEFAULT_OUT.glob("*.json")}
    assert committed == dashboards.render_all(), "run `campus-ops dashboards` and commit the result"
    result = subprocess.run(
        [sys.executable, "-m", "campus_ops", "dashboards", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_the_dashboards_are_grafanas_format_with_every_asked_for_view() -> None:
    titles = set()
    for text in dashboards.render_all().values():
        board = json.loads(text)
        titles.add(board["title"])
        assert board["uid"] and board["panels"], board["title"]
        for panel in board["panels"]:
            assert panel["type"] in ("stat", "timeseries", "table")
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert [t["refId"] for t in panel["targets"]] == ["A"]
        variables = [v["name"] for v in board["templating"]["list"]]
        assert variables[0] == "datasource"
    assert titles == {
        "City overview",
        "Classroom environment",
        "Energy",
        "Network",
        "Training equipment",
        "HVAC",
        "Fleet health",
    }


def test_check_names_a_stale_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "campus_ops", "dashboards", "--out", str(tmp_path), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"{tmp_path / 'campus-energy.json'} is not what the generator makes" in result.stderr


@pytest.mark.integration
def test_every_panel_shows_data_from_real_agents(tmp_path: Path, store: VictoriaMetrics) -> None:
    now_ms = int(time.time() * 1000)
    room = "classroom_env,school=sh-alert,campus=main,device=a301-iaq,kind=classroom-iaq,building=A,room=301"
    write_lines(store, [f"{room} co2_ppm=1300 {now_ms - minute * 60_000}" for minute in range(20, 0, -1)])
    vmalert = VMAlert(fast_copies(tmp_path), store.url, tmp_path)
    with agent_on_campus(tmp_path, store.url):
        vmalert.start()
        try:
            # Rates need two polls of the switch; the roll-ups and ALERTS need vmalert's turns.
            wait_for(lambda: not _empty(store), 90, what=f"data behind every panel: {_empty(store)}")
        finally:
            vmalert.stop()


def _empty(store: VictoriaMetrics) -> list[str]:
    """The panels whose query returns nothing (an error fails at once)."""
    store.points("edge_agent_uptime_s")  # flushes: what was written is searchable
    return [
        f"{uid}: {query.title}"
        for uid, query in dashboards.queries()
        if not Store(store.url).query(_with_all(query.expr))
    ]


def _with_all(expr: str) -> str:
    return expr.replace("$school", ALL).replace("$building", ALL).replace("$room", ALL)


@pytest.mark.integration
def test_every_panel_shows_a_steady_campus_between_its_heartbeats(store: VictoriaMetrics) -> None:
    now_s = time.time()
    write_lines(store, quiet.lines(now_s))
    quiet.wait_until_searchable(store.url)
    start, step = now_s - quiet.FIRST_AGO_S + 1, 30.0  # from the first reading on
    steps = len(range(int(start), int(now_s) + 1, int(step)))
    problems = []
    for uid, query in dashboards.queries():
        if ":" in query.expr or "ALERTS" in query.expr:
            continue  # vmalert's output, not the devices' readings
        expr = query.expr.replace("$school", quiet.SCHOOL).replace("$building", ALL).replace("$room", ALL)
        if query.kind != "timeseries":
            if not Store(store.url).query(expr):
                problems.append(f"{uid}: {query.title}: nothing now, {quiet.LAST_AGO_S} s after a reading")
            continue
        series = quiet.query_range(store.url, expr, start, now_s, step)
        gaps = [steps - len(times) for times in series if len(times) < steps]
        if not series or gaps:
            problems.append(f"{uid}: {query.title}: {len(series)} series, {gaps} of {steps} steps missing")
    assert not problems, "\n".join(problems)
