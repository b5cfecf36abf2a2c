"""A running agent pulling the city's bundles from a real https server on loopback (a test CA).

One agent polls the simulated campus while the server offers it a good bundle, a changed
one, then every kind of bad one (tampered, wrong key, another school, a downgrade, an
invalid config) and finally hangs: each bad one is refused with its reason, the config in
force stays, and every poll a device answered is in the buffer at the end. Another agent
starts with the server down and runs the last good bundle it kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campus_ops.bundle import tarball
from edge_agent.buffer import DiskBuffer
from edge_agent.bundle import load_public_keys, verify
from edge_agent.bundle.keep import FleetState, keep, write_state
from tests.support.agentconfig import agent_toml
from tests.support.bundleserver import BundleServer
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import SimulatedCampus, cli, wait_for
from tests.support.tlsca import TestCA

from ..service.helpers import ServiceAgent, campus_devices, devices_in, free_listen, healthz
from .helpers import CityKey, bundle_files

pytestmark = pytest.mark.integration


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "ca")


@pytest.fixture
def server(ca: TestCA) -> Iterator[BundleServer]:
    running = BundleServer(ca)
    yield running
    running.close()


def fleet_toml(url: str, city: CityKey, ca: TestCA | None) -> str:
    tls = f'tls_ca = "{ca.cert}"\n' if ca is not None else ""
    return (
        f'[fleet]\nurl = "{url}"\ninterval = "1s"\ntimeout = "1s"\ntrusted_keys = ["{city.pub_file}"]\n{tls}'
    )


def report(listen: str) -> dict[str, Any]:
    answer = healthz(listen)
    return {} if answer is None else answer[1]


def fleet_of(listen: str) -> dict[str, Any]:
    return report(listen).get("fleet") or {}


def polls(listen: str) -> dict[str, int]:
    return {name: d["polls"] for name, d in devices_in(report(listen) or {"devices": []}).items()}


def buffered_points(path: Path) -> dict[str, int]:
    """Readings per device in the buffer (no sink: everything polled stays there)."""
    disk = DiskBuffer(path, [], 10**9, readonly=True)
    try:
        lines = disk.tail(10**9)
    finally:
        disk.close()
    counts: dict[str, int] = {}
    for line in lines:
        if line.startswith(("edge_agent_device,", "edge_agent,", "edge_agent_event,", "asset,")):
            continue
        tags = dict(t.split("=", 1) for t in line.split(" ", 1)[0].split(",")[1:])
        if "device" in tags:
            counts[tags["device"]] = counts.get(tags["device"], 0) + 1
    return counts


def bundle_events(agent: ServiceAgent) -> list[dict[str, Any]]:
    return [e for e in agent.log_events() if e.get("audit_event") == "bundle"]


def test_bundles_applied_refused_and_nothing_lost(
    tmp_path: Path, campus: SimulatedCampus, ca: TestCA, server: BundleServer
) -> None:
    campus.start()
    devices = campus_devices(campus)
    city = CityKey(tmp_path / "keys")
    v1 = {"conf.d/city.toml": devices["classroom-2"] + "\n\n" + devices["meter-1"]}
    server.serve(tarball(bundle_files(v1, city, version=1)))
    listen = free_listen()
    config = tmp_path / "agent.toml"
    config.write_text(
        agent_toml([devices["classroom-1"]], listen=listen, extra=fleet_toml(server.url, city, ca))
    )
    agent = ServiceAgent(config)
    agent.start()
    try:
        wait_for(lambda: fleet_of(listen).get("version") == 1, 30, what="bundle 1 in force")
        wait_for(
            lambda: (
                set(polls(listen)) == {"classroom-1", "classroom-2", "meter-1"}
                and min(polls(listen).values()) >= 3
            ),
            30,
            what="local and city devices polled",
        )
        # Unchanged since: asked with its ETag, answered 304.
        wait_for(
            lambda: any(r[2] == server.etag and r[3] == 304 for r in server.requests),
            30,
            what="a 304 for the bundle in force",
        )

        moved = devices["meter-1"].replace('room = "plant-1"', 'room = "plant-2"')
        v2 = {"conf.d/city.toml": devices["classroom-2"] + "\n\n" + moved + "\n\n" + devices["machine-1"]}
        before = polls(listen)
        server.serve(tarball(bundle_files(v2, city, version=2)))
        wait_for(lambda: fleet_of(listen).get("version") == 2, 30, what="bundle 2 in force")
        [_, second] = bundle_events(agent)
        assert second["changed"] == ["meter-1"] and second["added"] == ["machine-1"], second
        assert second["removed"] == [] and second["bundle_version"] == 2
        reloaded = [e for e in agent.log_events() if e["event"] == "config reloaded"][-1]
        assert reloaded["unchanged"] == 2  # classroom-1 and classroom-2 kept their pollers
        after = polls(listen)
        assert after["classroom-1"] >= before["classroom-1"] and after["classroom-2"] >= before["classroom-2"]

        tampered = bundle_files({"conf.d/city.toml": v2["conf.d/city.toml"] + "\n"}, city, version=3)
        tampered["conf.d/city.toml"] = tampered["conf.d/city.toml"].replace(b"plant-2", b"plant-9")
        intruder = CityKey(tmp_path / "intruder", "intruder")
        invalid = {"conf.d/city.toml": v2["conf.d/city.toml"].replace("unit = 1", "unit = 1\nprot = 502", 1)}
        # fleet.allow is left at its default (devices, profiles): a sink is out of scope.
        sink = '[[sinks.influxdb]]\nurl = "http://127.0.0.1:9"\nbucket = "campus"\n'
        scope = {"conf.d/city.toml": v2["conf.d/city.toml"] + "\n\n" + sink}
        bad = [
            (tampered, "files"),
            (bundle_files(v2, intruder, version=3), "signature"),
            (bundle_files(v2, city, version=3, school="sh-999"), "target"),
            (bundle_files(v1, city, version=1), "downgrade"),
            (bundle_files(invalid, city, version=3), "config"),
            (bundle_files(scope, city, version=3), "scope"),
        ]
        for count, (files, reason) in enumerate(bad, start=1):
            server.serve(tarball(files))
            wait_for(
                lambda n=count: fleet_of(listen).get("refused_total") == n,
                30,
                what=f"bundle refused ({reason})",
            )
            refusal = fleet_of(listen)["last_refusal"]
            assert refusal["reason"] == reason, refusal
            assert fleet_of(listen)["version"] == 2
        refusals = [e for e in agent.log_events() if e.get("audit_event") == "bundle_refused"]
        assert "devices.modbus[1].prot" in refusals[-2]["problem"]
        scoped = fleet_of(listen)["last_refusal"]["message"]
        assert "conf.d/city.toml sets [sinks], which fleet.allow does not name" in scoped, scoped
        assert "fleet/current" not in scoped  # it was never the bundle in force
        assert fleet_of(listen)["refused"] == {r: 1 for _, r in bad}
        refused = [e for e in agent.log_events() if e.get("audit_event") == "bundle_refused"]
        assert [e["reason"] for e in refused] == [r for _, r in bad]
        assert all(e["level"] == "error" for e in refused)

        failures = fleet_of(listen)["fetch_failures"]
        server.hang = True
        wait_for(lambda: fleet_of(listen)["fetch_failures"] >= failures + 2, 30, what="fetches timing out")
        assert "no full answer within 1s" in fleet_of(listen)["last_fetch_error"]
        before = polls(listen)
        wait_for(lambda: all(polls(listen)[n] > before[n] for n in before), 30, what="polling going on")

        v3 = {"conf.d/city.toml": devices["classroom-2"]}
        server.serve(tarball(bundle_files(v3, city, version=3)))
        wait_for(lambda: fleet_of(listen).get("version") == 3, 30, what="bundle 3 in force")
        wait_for(
            lambda: set(polls(listen)) == {"classroom-1", "classroom-2"}, 30, what="city devices removed"
        )

        campus.stop()  # no more answers: every poll served is now on its way into the buffer
        wait_for(
            lambda: all(d["consecutive_failures"] for d in report(listen)["devices"]),
            30,
            what="every device failing",
        )
        assert agent.stop() == 0
    finally:
        if agent.running():
            agent.kill()
    served = {device: len(times) for device, times in campus.served_polls().items()}
    assert buffered_points(tmp_path / "state" / "buffer.db") == served
    # What the agent keeps and says: the bundle in force, the last refusal, as the technician sees it.
    shown = cli("fleet", "status", str(config))
    assert shown.returncode == 0, shown.stderr
    assert "in force: version 3 for school sh-test" in shown.stdout
    assert "refused: 6 in all" in shown.stdout and "(scope)" in shown.stdout
    state = json.loads((tmp_path / "state" / "fleet" / "state.json").read_text())
    assert state["highest_version"] == 3 and state["version"] == 3


def test_the_last_good_bundle_runs_when_the_server_is_down_at_start(
    tmp_path: Path, campus: SimulatedCampus
) -> None:
    campus.start()
    devices = campus_devices(campus)
    city = CityKey(tmp_path / "keys")
    files = bundle_files({"conf.d/city.toml": devices["meter-1"]}, city, version=4)
    good = verify(files, load_public_keys([city.pub_file]), school="sh-test")
    keep(tmp_path / "state", good)  # as the agent left it when it last applied version 4
    write_state(
        tmp_path / "state", FleetState(version=4, sha256=good.sha256, applied_ms=1, highest_version=4)
    )
    listen = free_listen()
    config = tmp_path / "agent.toml"
    down = f"https://{LOOPBACK}:{free_port()}/sh-test.tar.gz"
    config.write_text(agent_toml([devices["classroom-1"]], listen=listen, extra=fleet_toml(down, city, None)))
    agent = ServiceAgent(config)
    agent.start()
    try:
        wait_for(
            lambda: set(polls(listen)) == {"classroom-1", "meter-1"} and min(polls(listen).values()) >= 2,
            30,
            what="local and kept devices polled",
        )
        wait_for(lambda: fleet_of(listen).get("fetch_failures", 0) >= 2, 30, what="fetches failing")
        assert fleet_of(listen)["version"] == 4 and fleet_of(listen)["refused_total"] == 0
        [start] = [e for e in agent.log_events() if e.get("audit_event") == "start"]
        assert start["bundle_version"] == 4
        assert agent.stop() == 0
    finally:
        if agent.running():
            agent.kill()
    shown = cli("fleet", "status", str(config))
    assert "in force: version 4" in shown.stdout and "failed:" in shown.stdout, shown.stdout
