"""Real servers for integration tests: VictoriaMetrics, the simulated campus, the agent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.agentconfig import agent_toml
from tests.support.processes import AgentProcess, SimulatedCampus
from tests.support.victoriametrics import VictoriaMetrics


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """A running VictoriaMetrics on a free loopback port."""
    server = VictoriaMetrics(tmp_path / "vm-data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def campus(tmp_path: Path) -> Iterator[SimulatedCampus]:
    """A small simulated campus (2 classrooms, 1 meter, 1 machine), not yet started."""
    sim = SimulatedCampus(tmp_path / "campus")
    yield sim
    sim.stop()


AgentFactory = Callable[..., AgentProcess]


@pytest.fixture
def agent_for(tmp_path: Path) -> Iterator[AgentFactory]:
    """Writes an agent config for a campus and a store URL; returns the (unstarted) agent."""
    agents: list[AgentProcess] = []

    def make(campus: SimulatedCampus, store_url: str | None, interval: str = "500ms") -> AgentProcess:
        directory = tmp_path / "agent"
        directory.mkdir(exist_ok=True)
        sink = (
            f"""
[[sinks.influxdb]]
url = "{store_url}"
org = "edu"
bucket = "campus"
token = "test-token"
retry_max = "2s"
timeout = "3s"
"""
            if store_url
            else ""
        )
        config = directory / "agent.toml"
        config.write_text(agent_toml([campus.config()], sink=sink, interval=interval))
        agent = AgentProcess(config)
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        if agent.running():
            agent.kill()
