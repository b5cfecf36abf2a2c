"""The central rules (deploy/central/rules): promtool, real agent data, and a real vmalert.

Three things are held here: the files are valid and their unit tests pass (promtool, the
same rule format vmalert runs); every series a rule reads is one that real agents write,
with the labels its summary names (a rule whose query returns nothing on real agent data
would never fire); and every alert fires in a real vmalert over the state it is for and is
resolved once that state ends.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campus_ops.store import Store
from tests.central import scenarios
from tests.central.campus import agent_on_campus, write_lines
from tests.central.rules import RULE_FILES, RULES_DIR, UNIT_TESTS, Rule, alerts, fast_copies, rules
from tests.central.servers import VMAlert
from tests.integration.conftest import store
from tests.support.processes import wait_for
from tests.support.victoriametrics import VictoriaMetrics

ROOT = Path(__file__).resolve().parents[2]
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
VMALERT = shutil.which("vmalert") or "/usr/bin/vmalert"

__all__ = ["store"]  # the fixture, shared with the integration tests

#: The alerts the central operators asked for (docs/central.md has a runbook for each).
REQUIRED = {
    "GatewaySilent",
    "GatewayRestarting",
    "DeviceDown",
    "BufferBacklog",
    "ReadingsDropped",
    "DeadLetters",
    "SinkAuthFailing",
    "ClassroomCO2High",
    "ClassroomPM25High",
    "ClassroomTemperatureOutOfRange",
    "TrainingMachineAlarm",
    "UpsOnBattery",
    "UpsBatteryLow",
    "SwitchPortErrors",
    "SwitchPortDown",
    "HvacUnitAlarm",
    "HvacZoneTemperatureOutOfRange",
}


def test_every_rule_file_is_valid() -> None:
    result = subprocess.run(
        [PROMTOOL, "check", "rules", *map(str, RULE_FILES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_unit_tests_pass_and_cover_every_rule() -> None:
    result = subprocess.run(
        [PROMTOOL, "test", "rules", *map(str, UNIT_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=RULES_DIR / "tests",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tested = "\n".join(path.read_text() for path in UNIT_TESTS)
    untested = [rule.name for rule in rules() if not re.search(rf"\b{re.escape(rule.name)}\b", tested)]
    assert not untested, f"rules without a promtool unit test: {untested}"


def test_every_alert_asked_for_has_severity_summary_and_runbook() -> None:
    by_name = {rule.name: rule for rule in alerts()}
    assert set(by_name) >= REQUIRED, f"missing: {sorted(REQUIRED - set(by_name))}"
    runbooks = (ROOT / "docs" / "central.md").read_text()
    headings = {_anchor(line) for line in runbooks.splitlines() if line.startswith("### ")}
    for rule in by_name.values():
        assert rule.labels.get("severity") in ("critical", "warning", "info"), rule.name
        assert "school" in rule.summary_labels(), rule.name
        assert rule.annotations["runbook"] == f"docs/central.md#{rule.name.lower()}", rule.name
        assert rule.name.lower() in headings, f"docs/central.md has no runbook heading for {rule.name}"


def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.lstrip("#").strip().lower()).replace(" ", "-")


# --- real agent data -------------------------------------------------------------------------


#: Metrics an agent writes only when something happens (an asset's identity changed):
#: tests/integration/test_asset_register.py has a real agent write them, labels and all.
ON_EVENT = {"edge_agent_event_changes"}


@pytest.mark.integration
def test_every_rule_reads_what_real_agents_write(tmp_path: Path, store: VictoriaMetrics) -> None:
    wanted = {metric for rule in rules() for metric in rule.metrics()} - ON_EVENT
    with agent_on_campus(tmp_path, store.url):
        # Rates (errors per second) come from the second poll of a switch on.
        wait_for(
            lambda: not (wanted - _names(store)),
            60,
            what=f"every metric the rules read: {sorted(wanted - _names(store))}",
        )
    problems = []
    for rule in rules():
        for metric in sorted(rule.metrics() - ON_EVENT):
            labels = set().union(*(set(dict(tags)) for _, tags in store.points(metric)))
            if missing := rule.summary_labels() - labels:
                problems.append(f"{rule.name}: {metric} from real agents has no label {sorted(missing)}")
        if not rule.alert and not Store(store.url).query(rule.expr):
            problems.append(f"recording rule {rule.name} returns nothing on real agent data")
    assert not problems, "\n".join(problems)


def _names(store: VictoriaMetrics) -> set[str]:
    return {name for name, _ in store.points('{school="sh-test"}')}


# --- a real vmalert ---------------------------------------------------------------------------


def _replay_window() -> datetime:
    """01:00 UTC (09:00 in Shanghai) of the latest weekday at least a day ago: school hours."""
    day = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0) - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


@pytest.mark.integration
def test_every_alert_fires_in_vmalert_and_resolves_when_its_state_ends(
    tmp_path: Path, store: VictoriaMetrics
) -> None:
    start = _replay_window()
    start_ms = int(start.timestamp() * 1000)
    write_lines(store, scenarios.lines(start_ms))

    end = start + timedelta(minutes=scenarios.MINUTES)
    result = subprocess.run(
        [
            VMALERT,
            *(f"-rule={path}" for path in RULE_FILES),
            f"-datasource.url={store.url}",
            f"-remoteWrite.url={store.url}",
            f"-replay.timeFrom={start:%Y-%m-%dT%H:%M:%SZ}",
            f"-replay.timeTo={end:%Y-%m-%dT%H:%M:%SZ}",
            "-replay.rulesDelay=0s",
            "-replay.disableProgressBar",
            "-loggerLevel=WARN",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    # vmalert has exited with everything sent; the store makes it searchable within moments.
    wait_for(lambda: _firing(store) or None, 30, what="ALERTS written back by vmalert")
    time.sleep(1)
    fired = _firing(store)
    problems = []
    for name in sorted(REQUIRED):
        schools = scenarios.schools(name)  # its own, and its twin reporting on change
        for school in schools:
            minutes = sorted(fired.get((name, school), []))
            if not minutes:
                problems.append(f"{name} never fired for {school}")
                continue
            first, last = (int((m - start_ms) / 60_000) for m in (minutes[0], minutes[-1]))
            if first < scenarios.START:
                problems.append(f"{name} fired for {school} at minute {first}, before its state began")
            if last > scenarios.MINUTES - 15:
                problems.append(f"{name} still firing for {school} at minute {last}; its state ended")
        others = sorted(s for (n, s) in fired if n == name and s not in schools)
        if others:
            problems.append(f"{name} fired for schools with nothing wrong: {others}")
    quiet = sorted(n for (n, s) in fired if s == scenarios.QUIET)
    assert not quiet, f"alerts fired for the healthy, quiet school: {quiet}"
    assert not problems, "\n".join(problems)


def _firing(store: VictoriaMetrics) -> dict[tuple[str, str], list[int]]:
    out: dict[tuple[str, str], list[int]] = {}
    for (_, tags), values in store.points('ALERTS{alertstate="firing"}').items():
        labels = dict(tags)
        out.setdefault((labels["alertname"], labels.get("school", "")), []).extend(
            ts for ts, value in values.items() if value == 1
        )
    return out


@pytest.mark.integration
def test_an_alert_fires_and_resolves_through_vmalerts_api(tmp_path: Path, store: VictoriaMetrics) -> None:
    fast = fast_copies(tmp_path)  # the real rules, evaluated every second
    now_ms = int(time.time() * 1000)
    room = "classroom_env,school=sh-031,campus=main,device=a301-iaq,kind=classroom-iaq,building=A,room=301"
    write_lines(store, [f"{room} co2_ppm=1300 {now_ms - minute * 60_000}" for minute in range(20, -1, -1)])
    vmalert = VMAlert(fast, store.url, tmp_path)
    vmalert.start()
    try:
        [alert] = wait_for(
            lambda: (
                [a for a in vmalert.alerts() if a["name"] == "ClassroomCO2High" and a["state"] == "firing"]
                or None
            ),
            30,
            what="ClassroomCO2High firing",
        )
        assert alert["labels"]["room"] == "301" and alert["labels"]["severity"] == "warning"
        assert alert["annotations"]["summary"].startswith("School sh-031, building A, room 301: CO2 above")
        # The window opened: somebody aired the room.
        write_lines(store, [f"{room} co2_ppm=700 {int(time.time() * 1000)}"])
        wait_for(
            lambda: not [a for a in vmalert.alerts() if a["name"] == "ClassroomCO2High"],
            30,
            what="ClassroomCO2High resolved",
        )
    finally:
        vmalert.stop()


def test_rules_module_finds_the_metrics_of_an_expression() -> None:
    rule = Rule("f", "g", "x", "a_b > on() edge_agent_uptime_s and classroom_env_co2_ppm", True, {}, {})
    assert rule.metrics() == {"edge_agent_uptime_s", "classroom_env_co2_ppm"}
