"""Report on change through the whole agent, into a real VictoriaMetrics, and quiet told from dead.

One classroom sensor of the simulated campus is polled twice, by two devices of one agent:
one sends every field of every poll (``always``), the other on change with the
classroom-iaq profile's deadbands. At every poll instant of the first, the value the store
answers for the second (the last one sent) is within its deadband of the true value.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.helpers import campus_devices, free_listen, get
from tests.support.agentconfig import agent_toml
from tests.support.processes import AgentProcess, SimulatedCampus, wait_for
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = pytest.mark.integration

DEADBANDS = {"temperature_c": 0.1, "humidity_pct": 1.0, "co2_ppm": 10.0, "pm25_ugm3": 2.0, "noise_db": 1.0}


@pytest.fixture
def campus(tmp_path: Path) -> Iterator[SimulatedCampus]:
    sim = SimulatedCampus(tmp_path / "campus", classrooms=1, meters=1, machines=0, control=True)
    sim.start()
    yield sim
    sim.stop()


def sink(store: VictoriaMetrics) -> str:
    return f'[[sinks.influxdb]]\nurl = "{store.url}"\nbucket = "campus"\nretry_max = "2s"\n'


def metric(listen: str, name: str, device: str) -> float | None:
    """One device's sample of ``name`` on the agent's /metrics; None before the agent answers."""
    try:
        code, text = get(f"http://{listen}/metrics")
    except OSError:
        return None
    assert code == 200
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and f'device="{device}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def test_the_store_stays_within_the_deadband_of_every_poll(
    tmp_path: Path, campus: SimulatedCampus, store: VictoriaMetrics
) -> None:
    entry = campus_devices(campus)["classroom-1"]
    always = entry.replace('name = "classroom-1"', 'name = "always"')
    changes = (
        entry.replace('name = "classroom-1"', 'name = "changes"') + '\nreport = "on_change"\nheartbeat = "5s"'
    )
    listen = free_listen()
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml([always, changes], listen=listen, sink=sink(store), interval="250ms"))
    agent = AgentProcess(config)
    agent.start()
    try:
        time.sleep(12)
        suppressed = metric(listen, "edge_agent_device_fields_suppressed_total", "changes")
        sent = metric(listen, "edge_agent_device_fields_sent_total", "changes")
        assert agent.stop() == 0
    finally:
        if agent.running():
            agent.kill()
    assert suppressed and sent and suppressed > sent  # most of a classroom's polls are repeats
    for field, deadband in DEADBANDS.items():
        truth = store.points(f'classroom_env_{field}{{device="always"}}')
        sparse = store.points(f'classroom_env_{field}{{device="changes"}}')
        [(_, every)] = truth.items()
        [(_, sent_values)] = sparse.items()
        assert len(sent_values) < len(every), field
        times = sorted(sent_values)
        worst = 0.0
        for at, value in every.items():
            # What last_over_time answers at `at`: the last value sent at or before it. The two
            # devices poll a few milliseconds apart; one interval of slack covers that.
            before = [t for t in times if t <= at + 250]
            if not before or at < times[0] + 250:
                continue
            worst = max(worst, abs(value - sent_values[before[-1]]))
        # The deadband, plus what the signal can move between the two devices' polls.
        assert worst <= deadband * 1.5, (field, worst, deadband)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) <= 5_000 + 600, (field, max(gaps))  # the heartbeat: never longer unsent


def test_a_quiet_device_is_alive_and_a_stopped_one_is_not(tmp_path: Path, campus: SimulatedCampus) -> None:
    devices = campus_devices(campus)
    meter = devices["meter-1"] + '\nreport = "on_change"\nheartbeat = "1m"\ndeadband = 1e9'
    listen = free_listen()
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml([devices["classroom-1"], meter], listen=listen, interval="250ms"))
    agent = AgentProcess(config)
    agent.start()
    try:
        wait_for(lambda: metric(listen, "edge_agent_device_alive", "meter-1") == 1.0, 30, what="meter alive")
        time.sleep(3)
        # It answers every poll, and after its first nothing moved past a deadband of 1e9.
        assert metric(listen, "edge_agent_device_alive", "meter-1") == 1.0
        assert (metric(listen, "edge_agent_device_fields_sent_total", "meter-1") or 0) < 30
        assert campus.ctl("stop", "classroom-1").returncode == 0
        wait_for(
            lambda: metric(listen, "edge_agent_device_alive", "classroom-1") == 0.0, 30, what="classroom down"
        )
        assert metric(listen, "edge_agent_device_alive", "meter-1") == 1.0
    finally:
        agent.stop()
