"""The city on one machine: one store, vmauth in front of it, one simulator process, N agents.

Everything listens on 127.0.0.1 on free ports. Each school has its own bearer token and
vmauth user (rendered by ``campus-ops vmauth``'s own function, so ``school=<code>`` is pinned
on its writes as in the real city), its own agent process and state directory, and a few
simulated meters of its own; one ``python -m simulators campus`` process serves the meters
of every school, one port per meter.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from campus_core.clock import now_ms
from campus_ops.roster import Roster, School
from campus_ops.vmauth import render_vmauth
from tests.support.ports import LOOPBACK, free_port, free_port_range
from tests.support.processes import AgentProcess
from tests.support.victoriametrics import VictoriaMetrics
from tests.support.vmauth import VMAuth

from ..measure import simulators
from .backlog import Backlog, prefill

#: The sink's name in every agent (its buffer cursor, the label of its metrics).
SINK = "city"
#: The school whose token the raw writer uses: not a school, never in the books.
RAW_WRITER = "raw-writer"


@dataclass(frozen=True)
class Plan:
    """What city to build: its size, the store's limit and the agents' sink settings."""

    schools: int = 40
    meters: int = 3
    meter_interval: str = "1s"
    #: VictoriaMetrics' -maxConcurrentInserts: inserts the store works on at once.
    store_inserts: int = 1
    #: VictoriaMetrics' -insert.maxQueueDuration: how long an insert waits for a slot before a 503.
    #: At 1 s this box's store (some 60,000 rows an insert in ~12 ms) queues 40 gateways without
    #: refusing one; at 100 ms it turns away a reconnect storm, as a store near its limit does.
    store_queue: str = "100ms"
    sink_timeout: str = "10s"
    retry_max: str = "30s"
    batch_points: int = 5000
    #: Hours of backlog written into every school's buffer before its agent starts (backlog.py).
    backlog_hours: float = 12.0
    #: The meters' ``report``: "always" (every field of every poll), or "on_change" (the
    #: energy-meter-3ph profile's deadbands, and a backlog of what such a school writes).
    report: str = "always"


@dataclass
class Gateway:
    """One school's gateway: its code, its agent, where the agent answers /metrics."""

    code: str
    agent: AgentProcess
    listen: str
    directory: Path
    #: What was written into the buffer before the agent started.
    prefilled: Backlog = field(default_factory=Backlog)

    @property
    def buffer_file(self) -> Path:
        """The agent's buffer."""
        return self.directory / "state" / "buffer.db"

    @property
    def pid(self) -> int:
        """The agent's process id (it is running)."""
        assert self.agent.process is not None
        return self.agent.process.pid


@dataclass
class City:
    """The running city."""

    plan: Plan
    work: Path
    store: VictoriaMetrics
    gate: VMAuth
    gateways: list[Gateway]
    raw_token: str

    def cut(self) -> None:
        """The metro network goes down: no gateway reaches the store."""
        self.gate.stop()

    def restore(self) -> None:
        """The network is back: vmauth answers again on the same port."""
        self.gate.start()

    def stop_agents(self, timeout: float = 60) -> list[int]:
        """SIGTERM every agent at once (each drains within its grace) and wait; their exit codes."""
        for school in self.gateways:
            if school.agent.running():
                assert school.agent.process is not None
                school.agent.process.terminate()
        codes = []
        for school in self.gateways:
            process = school.agent.process
            if process is None:
                continue
            try:
                codes.append(process.wait(timeout=timeout))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
            school.agent.process = None
        return codes


def school_code(index: int) -> str:
    """``sh-001``, ``sh-002``, ...: codes as the city's data standard writes them."""
    return f"sh-{index + 1:03d}"


@contextlib.contextmanager
def city(work: Path, plan: Plan) -> Iterator[City]:
    """Store, vmauth, simulators and every school's agent running; all stopped afterwards."""
    work.mkdir(parents=True, exist_ok=True)
    store = VictoriaMetrics(
        work / "vm",
        flags=(f"-maxConcurrentInserts={plan.store_inserts}", f"-insert.maxQueueDuration={plan.store_queue}"),
    )
    codes = [school_code(i) for i in range(plan.schools)]
    tokens = _tokens(work / "tokens", [*codes, RAW_WRITER])
    roster = Roster(
        schools=[
            School(code=code, name=f"school {code}", token_file=work / "tokens" / code)
            for code in [*codes, RAW_WRITER]
        ]
    )
    store.start()
    gate = VMAuth(work / "vmauth.yml")
    try:
        gate.config.write_text(render_vmauth(roster, store.url))
        if not plan.backlog_hours:
            # With a backlog in every buffer the city starts cut off: it would drain at once.
            gate.start()
        sim_args = [
            "--classrooms",
            "0",
            "--meters",
            str(plan.schools * plan.meters),
            "--machines",
            "0",
            "--base-port",
            str(free_port_range(plan.schools * plan.meters)),
            "--host",
            LOOPBACK,
        ]
        with simulators(work, sim_args) as entries:
            blocks = [b for b in entries.split("\n\n") if b.strip()]
            schools = [
                _school(
                    work,
                    plan,
                    code,
                    gate.url,
                    work / "tokens" / code,
                    blocks[i * plan.meters : (i + 1) * plan.meters],
                )
                for i, code in enumerate(codes)
            ]
            if plan.backlog_hours:
                end_ms = now_ms() - 1000
                for i, school in enumerate(schools):
                    school.prefilled = prefill(
                        school.buffer_file,
                        SINK,
                        school.code,
                        blocks[i * plan.meters : (i + 1) * plan.meters],
                        plan.backlog_hours,
                        end_ms,
                        school.directory / "agent.toml",
                        on_change=plan.report == "on_change",
                    )
            the_city = City(plan, work, store, gate, schools, tokens[RAW_WRITER])
            try:
                for school in schools:
                    school.agent.start()
                yield the_city
            finally:
                the_city.stop_agents()
    finally:
        gate.stop()
        store.stop()


def _tokens(directory: Path, codes: list[str]) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    tokens = {}
    for code in codes:
        token = os.urandom(16).hex()
        path = directory / code
        path.write_text(token + "\n")
        path.chmod(0o600)
        tokens[code] = token
    return tokens


def _school(work: Path, plan: Plan, code: str, url: str, token_file: Path, devices: list[str]) -> Gateway:
    directory = work / "schools" / code
    directory.mkdir(parents=True, exist_ok=True)
    listen = f"{LOOPBACK}:{free_port()}"
    report = f'\nreport = "{plan.report}"' if plan.report != "always" else ""
    meters = "\n\n".join(
        block.replace(
            'profile = "energy-meter-3ph"',
            f'profile = "energy-meter-3ph"\ninterval = "{plan.meter_interval}"{report}',
        )
        for block in devices
    )
    (directory / "agent.toml").write_text(f"""
[agent]
school = "{code}"
interval = "10s"
state_dir = "state"

[buffer]
shutdown_grace = "30s"

[health]
listen = "{listen}"

[log]
level = "warning"
format = "json"

[[sinks.influxdb]]
name = "{SINK}"
url = "{url}"
bucket = "city"
token_file = "{token_file}"
timeout = "{plan.sink_timeout}"
retry_max = "{plan.retry_max}"
batch_points = {plan.batch_points}

{meters}
""")
    return Gateway(code, AgentProcess(directory / "agent.toml"), listen, directory)
