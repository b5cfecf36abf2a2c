"""Fault injection: a loaded campus, a real store, the agent as a process, and the books.

Run alone with ``make faults`` (pytest -m faults). ``FAULT_SCALE`` stretches the outages
(default 1; 5 makes the store outage five minutes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.accounting import Books
from tests.support.processes import AgentProcess, SimulatedCampus
from tests.support.victoriametrics import VictoriaMetrics

SCALE = float(os.environ.get("FAULT_SCALE", "1"))
SCHOOL = "sh-fault"
SINK = "city"
REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("fault injection: the books of each case")
        for line in REPORT:
            terminalreporter.write_line(line)


@dataclass
class Rig:
    """Everything one fault case runs on."""

    workdir: Path
    store: VictoriaMetrics
    campus: SimulatedCampus
    agents: list[AgentProcess] = field(default_factory=list)

    @property
    def buffer_file(self) -> Path:
        """The agent's buffer."""
        return self.workdir / "agent" / "state" / "buffer.db"

    def agent(
        self,
        store_url: str | None = None,
        *,
        max_disk: str = "1GiB",
        interval: str = "100ms",
        timeout: str = "2s",
        batch_points: int = 5000,
    ) -> AgentProcess:
        """Write the agent's config and return it, not started."""
        directory = self.workdir / "agent"
        directory.mkdir(exist_ok=True)
        config = directory / "agent.toml"
        config.write_text(f"""
[agent]
school = "{SCHOOL}"
interval = "{interval}"
state_dir = "state"

[buffer]
max_disk = "{max_disk}"
flush_interval = "200ms"
batch_points = 500
shutdown_grace = "10s"

[log]
format = "json"

[[sinks.influxdb]]
name = "{SINK}"
url = "{store_url or self.store.url}"
bucket = "campus"
timeout = "{timeout}"
retry_max = "1s"
batch_points = {batch_points}

{self.campus.config()}
""")
        agent = AgentProcess(config)
        self.agents.append(agent)
        return agent

    def record(self, case: str, books: Books) -> None:
        """Add the case to the report printed at the end of the run."""
        REPORT.append(books.line(case))


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """A dedup-enabled VictoriaMetrics (overwrite semantics, as InfluxDB) and a 16-device campus."""
    store = VictoriaMetrics(tmp_path / "vm-data", dedup=True)
    store.start()
    campus = SimulatedCampus(tmp_path / "campus", classrooms=8, meters=4, machines=4, seed=11)
    campus.start()
    rig = Rig(tmp_path, store, campus)
    yield rig
    for agent in rig.agents:
        if agent.running():
            agent.kill()
    campus.stop()
    store.stop()
