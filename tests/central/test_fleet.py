"""``campus-ops fleet`` against a real VictoriaMetrics filled the way gateways fill it."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent import __version__
from tests.central.campus import write_lines
from tests.central.rosters import roster_of
from tests.integration.conftest import AgentFactory, agent_for, campus, store
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import AgentProcess, SimulatedCampus, wait_for
from tests.support.victoriametrics import VictoriaMetrics

__all__ = ["agent_for", "campus", "store"]  # fixtures shared with the integration tests

pytestmark = pytest.mark.integration

#: Every field of the ``edge_agent`` measurement (docs/schema.md), at a healthy gateway's values.
HEALTHY = {
    "uptime_s": 3600,
    "devices": 4,
    "devices_ok": 4,
    "devices_failed": 0,
    "points_accepted": 1000,
    "points_dropped": 0,
    "points_sent": 1000,
    "points_dead_lettered": 0,
    "sink_failures": 0,
    "buffer_errors": 0,
    "reloads": 0,
    "buffer_points": 4,
    "buffer_bytes": 4096,
    "buffer_oldest_age_s": 0,
}


def backfill(store: VictoriaMetrics, school: str, ago_s: float, **fields: float) -> None:
    """A gateway's self-metrics as the agent writes them: every 10 s for a minute, up to ``ago_s`` ago."""
    values = {**HEALTHY, **fields}
    write_lines(
        store,
        [
            f"edge_agent,school={school},campus=main,version={__version__} "
            + ",".join(f"{name}={value:g}" for name, value in values.items())
            + f" {int((time.time() - ago_s - step * 10) * 1000)}"
            for step in range(6)
        ],
    )


def fleet(*args: str) -> tuple[int, str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "campus_ops", "fleet", *args], capture_output=True, text=True, timeout=60
    )
    return result.returncode, result.stdout, result.stderr


def flushed(store: VictoriaMetrics, schools: int) -> bool:
    return len(store.points("edge_agent_uptime_s")) >= schools


def test_every_state_worst_first(store: VictoriaMetrics, tmp_path: Path) -> None:
    backfill(store, "sh-ok", 1)
    backfill(store, "sh-down", 2, devices_ok=3, devices_failed=1)
    backfill(store, "sh-late", 3, buffer_points=5000, buffer_oldest_age_s=1800)
    backfill(store, "sh-lossy", 4, points_dropped=120, points_dead_lettered=7, sink_failures=3)
    backfill(store, "sh-quiet", 600)
    wait_for(lambda: flushed(store, 5), 20, what="backfilled points")
    roster = roster_of(tmp_path, ["sh-ok", "sh-never"])
    for token in tmp_path.glob("*.token"):
        token.unlink()  # the operator listing schools holds none of their write secrets
    code, out, err = fleet("--store", store.url, "--roster", str(roster), "--json")
    assert code == 1, err
    schools = json.loads(out)["schools"]
    states = [(s["school"], s["state"]) for s in schools]
    assert states[:2] == [("sh-never", "missing"), ("sh-quiet", "silent")]
    assert dict(states[2:5]) == {"sh-down": "degraded", "sh-late": "degraded", "sh-lossy": "degraded"}
    assert states[5] == ("sh-ok", "ok")
    by_school: dict[str, Any] = {s["school"]: s for s in schools}
    assert by_school["sh-down"]["devices_down"] == 1 and by_school["sh-down"]["devices_up"] == 3
    assert by_school["sh-late"]["oldest_waiting_s"] == 1800 and by_school["sh-late"]["points_waiting"] == 5000
    assert (
        by_school["sh-lossy"]["dropped"],
        by_school["sh-lossy"]["dead_lettered"],
        by_school["sh-lossy"]["sink_errors"],
    ) == (120, 7, 3)
    assert by_school["sh-ok"]["version"] == __version__
    assert 590 < by_school["sh-quiet"]["age_s"] < 900


def test_the_lines_read_worst_first_and_all_well_is_exit_0(store: VictoriaMetrics) -> None:
    backfill(store, "sh-ok", 1)
    backfill(store, "sh-down", 1, devices_ok=3, devices_failed=1)
    wait_for(lambda: flushed(store, 2), 20, what="backfilled points")
    code, out, err = fleet("--store", store.url)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("sh-down/main") and "degraded" in lines[0] and "3 up/1 down" in lines[0]
    assert lines[1].startswith("sh-ok/main") and " ok " in lines[1] and f"v{__version__}" in lines[1]
    # A shorter --stale changes the verdict on the same data.
    code, out, _ = fleet("--store", store.url, "--stale", "500ms")
    assert code == 1 and all("silent" in line for line in out.splitlines())


def with_devices(store: VictoriaMetrics, school: str, reports: list[str], **fields: float) -> None:
    """A gateway's self-metrics, and its ``edge_agent_device`` points written with them (same
    timestamps): ``reports`` are ``"tags fields"`` after the school's own tags."""
    values = {**HEALTHY, **fields}
    lines = []
    for step in range(6):
        at = int((time.time() - 1 - step * 10) * 1000)
        body = ",".join(f"{name}={value:g}" for name, value in values.items())
        lines.append(f"edge_agent,school={school},campus=main,version={__version__} {body} {at}")
        lines += [f"edge_agent_device,school={school},campus=main,{report} {at}" for report in reports]
    write_lines(store, lines)


def test_quiet_devices_are_up_and_a_dead_sensor_behind_a_wildcard_is_down(store: VictoriaMetrics) -> None:
    quiet = [
        # A classroom reporting on change, steady for 280 s; rig-1, a subscription with nothing new.
        "device=classroom-1,building=A,room=101 up=1,alive=1,silent_s=280,interval_s=10",
        "device=rig-1,building=T,room=plc-lab-1 up=1,alive=1,silent_s=86400,interval_s=2",
    ]
    wildcard = [
        "device=wireless-iaq up=1,alive=1,silent_s=20,interval_s=10",
        "device=wireless-iaq,building=B,room=201 alive=1,silent_s=20",
        "device=wireless-iaq,building=B,room=202 alive=0,silent_s=900",
    ]
    with_devices(store, "sh-quiet-devices", quiet, devices=2, devices_ok=2)
    # The agent's own count knows nothing of sensors: its devices_failed says 0.
    with_devices(store, "sh-wildcard", quiet + wildcard, devices=3, devices_ok=3)
    wait_for(lambda: flushed(store, 2), 20, what="backfilled points")
    code, out, err = fleet("--store", store.url, "--json")
    assert code == 0, err
    schools = {s["school"]: s for s in json.loads(out)["schools"]}
    quiet_school = schools["sh-quiet-devices"]
    assert (quiet_school["state"], quiet_school["devices_up"], quiet_school["devices_down"]) == ("ok", 2, 0)
    wild = schools["sh-wildcard"]
    # The wildcard device counts as its two sensors, one of them dead.
    assert (wild["state"], wild["devices_up"], wild["devices_down"]) == ("degraded", 3, 1)
    assert wild["problems"] == ["1 device(s) down"]


def test_real_agents_of_two_schools(
    store: VictoriaMetrics, campus: SimulatedCampus, agent_for: AgentFactory, tmp_path: Path
) -> None:
    campus.start()
    first = agent_for(campus, store.url)
    second_dir = tmp_path / "agent-b"
    second_dir.mkdir()
    config_b = second_dir / "agent.toml"
    config_b.write_text(first.config.read_text().replace('school = "sh-test"', 'school = "sh-b"'))
    second = AgentProcess(config_b)
    first.start()
    second.start()
    roster_file = str(roster_of(tmp_path, ["sh-test", "sh-b"]))
    seen: dict[str, Any] = {}

    def every_device_up() -> bool:
        # The view reads the store's query API, which may trail the newest points by a moment.
        code, out, _ = fleet("--store", store.url, "--roster", roster_file, "--json")
        seen.update(code=code, schools={s["school"]: s for s in json.loads(out)["schools"]} if out else {})
        return code == 0 and all(s["devices_up"] == 4 for s in seen["schools"].values())

    try:
        wait_for(every_device_up, 60, what="both agents in the fleet view with every device up")
    finally:
        first.stop()
        second.stop()
    schools = seen["schools"]
    assert {k: v["state"] for k, v in schools.items()} == {"sh-test": "ok", "sh-b": "ok"}
    assert schools["sh-b"]["devices_up"] == 4 and schools["sh-b"]["devices_down"] == 0
    assert schools["sh-b"]["version"] == __version__


def test_a_refused_connection_names_the_store_and_exits_2() -> None:
    url = f"http://{LOOPBACK}:{free_port()}"
    code, _, err = fleet("--store", url)
    assert code == 2
    assert f"store {url} cannot be reached" in err


def test_a_store_that_never_answers_times_out_with_exit_2() -> None:
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(8)  # accepts connections in the kernel, never answers
        url = f"http://{LOOPBACK}:{listener.getsockname()[1]}"
        code, _, err = fleet("--store", url, "--timeout", "1s")
    assert code == 2
    assert f"store {url}" in err and "1s" in err


class _Fault(http.server.BaseHTTPRequestHandler):
    status = 200
    body = b"<html>login</html>"

    def do_POST(self) -> None:
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fault_server() -> Iterator[tuple[str, type[_Fault]]]:
    """A stub answering what no store would: HTML, or a 503 from a proxy."""
    handler = type("Handler", (_Fault,), {})
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_answer_that_is_not_json_is_exit_2(fault_server: tuple[str, type[_Fault]]) -> None:
    url, _ = fault_server
    code, _, err = fleet("--store", url)
    assert code == 2
    assert f"store {url} answered with something that is not JSON" in err


def test_an_error_status_is_exit_2(fault_server: tuple[str, type[_Fault]]) -> None:
    url, handler = fault_server
    handler.status, handler.body = 503, b"upstream down"
    code, _, err = fleet("--store", url)
    assert code == 2
    assert f"store {url} answered 503" in err and "upstream down" in err
