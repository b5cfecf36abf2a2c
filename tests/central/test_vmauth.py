"""vmauth rendered from the roster, run for real in front of a real VictoriaMetrics."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.central.rosters import write_roster
from tests.central.servers import VMAuth
from tests.support.agentconfig import agent_toml
from tests.support.processes import AgentProcess, SimulatedCampus, wait_for
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = pytest.mark.integration


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[VictoriaMetrics, VMAuth, Path]]:
    """A store behind vmauth configured by ``campus-ops vmauth`` from a two-school roster."""
    store = VictoriaMetrics(tmp_path / "vm-data")
    store.start()
    (tmp_path / "ops.token").write_text("token-of-ops\n")
    roster = write_roster(tmp_path, tokens={"a.token": "token-of-a\n", "b.token": "token-of-b\n"})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "campus_ops",
            "vmauth",
            "--roster",
            str(roster),
            "--store",
            store.url,
            "--operator-token-file",
            str(tmp_path / "ops.token"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config = tmp_path / "auth.yml"
    config.write_text(result.stdout)
    proxy = VMAuth(config)
    try:
        proxy.start()
        yield store, proxy, tmp_path
    finally:
        proxy.stop()
        store.stop()


def post(url: str, body: str, authorization: str | None) -> int:
    request = urllib.request.Request(url, data=body.encode(), method="POST")
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_a_schools_token_writing_another_schools_tag_is_stored_as_its_own(
    guarded: tuple[VictoriaMetrics, VMAuth, Path],
) -> None:
    store, proxy, _ = guarded
    write = f"{proxy.url}/api/v2/write?org=edu&bucket=campus&precision=ms"
    assert post(write, "probe,school=sh-b,room=1 co2_ppm=900", "Token token-of-a") == 204
    # Even an extra_label the gateway adds itself does not win over vmauth's.
    assert post(write + "&extra_label=school=sh-b", "probe2 co2_ppm=1", "Bearer token-of-a") == 204
    series = wait_for(lambda: store.points('{__name__=~"probe.*"}'), 20, what="probe points")
    assert {dict(labels)["school"] for _, labels in series} == {"sh-a"}


def test_no_token_or_a_wrong_token_writes_nothing(guarded: tuple[VictoriaMetrics, VMAuth, Path]) -> None:
    store, proxy, _ = guarded
    write = f"{proxy.url}/api/v2/write"
    assert post(write, "intruder,school=sh-a v=1", None) == 401
    # vmauth 1.79 answers an unknown token with 400 ("cannot find the provided auth token").
    assert post(write, "intruder,school=sh-a v=1", "Token not-a-school") in (400, 401)
    # The operators' token reads but cannot write; a school's token cannot read.
    assert post(write, "intruder,school=sh-a v=1", "Bearer token-of-ops") in (400, 401)
    query = f"{proxy.url}/api/v1/query?query=1"
    read = urllib.request.Request(query, headers={"Authorization": "Token token-of-a"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(read, timeout=10)
    ok = urllib.request.Request(query, headers={"Authorization": "Bearer token-of-ops"})
    with urllib.request.urlopen(ok, timeout=10) as response:
        assert response.status == 200
    urllib.request.urlopen(f"{store.url}/internal/force_flush", timeout=10).close()
    assert store.points('{__name__=~"intruder.*"}') == {}


def test_the_real_agent_writes_through_vmauth_unchanged_as_its_school(
    guarded: tuple[VictoriaMetrics, VMAuth, Path],
) -> None:
    store, proxy, tmp_path = guarded
    campus = SimulatedCampus(tmp_path / "campus", classrooms=1, meters=0, machines=0)
    campus.start()
    directory = tmp_path / "agent"
    directory.mkdir()
    sink = f"""
[[sinks.influxdb]]
url = "{proxy.url}"
org = "edu"
bucket = "campus"
token_file = "{tmp_path / "a.token"}"
retry_max = "2s"
timeout = "3s"
"""
    # The agent's config says school "sh-test"; its token says sh-a, and the store believes the token.
    (directory / "agent.toml").write_text(agent_toml([campus.config()], sink=sink, interval="300ms"))
    agent = AgentProcess(directory / "agent.toml")
    agent.start()
    try:
        points = wait_for(
            lambda: store.points('{__name__=~"edge_agent_uptime_s|classroom.*"}'),
            30,
            what="the agent's points through vmauth",
        )
        wait_for(
            lambda: any(n.startswith("classroom") for n, _ in store.points('{__name__=~"classroom.*"}')),
            30,
            what="device points",
        )
        points = store.points('{__name__=~"edge_agent_uptime_s|classroom.*"}')
    finally:
        agent.stop()
        campus.stop()
    assert {dict(labels)["school"] for _, labels in points} == {"sh-a"}
