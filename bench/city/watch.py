"""What the city bench reads while it runs: every agent's /metrics and /proc, the store's /metrics.

One :class:`Snapshot` a second: per gateway its backlog, the age of its oldest waiting
batch, its request counters (acknowledged and failed), CPU and memory; for the store, the
rows it has inserted and the inserts it turned away with a 503 after they waited their
``-insert.maxQueueDuration``.
"""

from __future__ import annotations

import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..measure import cpu_seconds, peak_rss_mb, rss_mb, scrape
from .rig import SINK, City, Gateway

#: A gateway has caught up when the oldest batch it still has to send is younger than this:
#: what is left is live data on its way, not the outage's backlog.
CAUGHT_UP_AGE = 5.0


@dataclass(frozen=True)
class AgentReading:
    """One gateway at one moment (counters since its process started)."""

    backlog: float = 0.0
    oldest_age: float = 0.0
    requests: float = 0.0  # write requests the store acknowledged
    failures: float = 0.0  # write requests that failed (refused, 429/503, timeout, unreachable)
    sent_points: float = 0.0
    cpu_s: float = 0.0
    rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    answered: bool = False

    @property
    def caught_up(self) -> bool:
        """Nothing from before the last few seconds is waiting."""
        return self.answered and (self.backlog == 0 or self.oldest_age < CAUGHT_UP_AGE)


@dataclass(frozen=True)
class StoreReading:
    """The store at one moment (counters since it started)."""

    rows: float = 0.0
    refused: float = 0.0  # inserts answered 503 after waiting for a slot
    queued: float = 0.0  # inserts that had to wait for a slot
    cpu_s: float = 0.0


@dataclass(frozen=True)
class Snapshot:
    """The whole city at ``t`` seconds since the bench started."""

    t: float
    phase: str
    agents: tuple[AgentReading, ...]
    store: StoreReading

    @property
    def backlog(self) -> float:
        """Points waiting in every gateway's buffer."""
        return sum(a.backlog for a in self.agents)

    def total(self, name: str) -> float:
        """The sum of one agent counter over the city."""
        return float(sum(getattr(a, name) for a in self.agents))


@dataclass
class Watch:
    """Takes snapshots of a running city."""

    city: City
    started: float = field(default_factory=time.monotonic)
    snapshots: list[Snapshot] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="city-watch")

    def close(self) -> None:
        """Stop the reading threads."""
        self._pool.shutdown(wait=True)

    def take(self, phase: str) -> Snapshot:
        """Read every gateway and the store now; keep and return the snapshot."""
        t = time.monotonic() - self.started
        agents = tuple(self._pool.map(read_agent, self.city.gateways))
        snapshot = Snapshot(t, phase, agents, read_store(self.city))
        self.snapshots.append(snapshot)
        return snapshot

    def every_second(self, phase: str, seconds: float) -> Snapshot:
        """Snapshots for ``seconds``, one a second; the last one."""
        end = time.monotonic() + seconds
        snapshot = self.take(phase)
        while time.monotonic() < end:
            next_second = 1.0 - (time.monotonic() - self.started - snapshot.t)
            time.sleep(max(0.0, min(next_second, end - time.monotonic())))
            snapshot = self.take(phase)
        return snapshot


def read_agent(gateway: Gateway) -> AgentReading:
    """One gateway's /metrics and /proc (zeros, answered=False, when it does not answer)."""
    try:
        metrics = scrape(f"http://{gateway.listen}/metrics")
    except OSError:
        return AgentReading()
    try:
        cpu, rss, peak = cpu_seconds(gateway.pid), rss_mb(gateway.pid), peak_rss_mb(gateway.pid)
    except (OSError, AssertionError):
        cpu = rss = peak = 0.0

    def sink(name: str) -> float:
        return metrics.get(name, {}).get((SINK,), 0.0)

    return AgentReading(
        backlog=sink("edge_agent_sink_backlog_points"),
        oldest_age=sink("edge_agent_sink_oldest_age_seconds"),
        requests=sink("edge_agent_sink_requests_total"),
        failures=sink("edge_agent_sink_failures_total"),
        sent_points=sink("edge_agent_sink_sent_points_total"),
        cpu_s=cpu,
        rss_mb=rss,
        peak_rss_mb=peak,
        answered=True,
    )


def read_store(city: City) -> StoreReading:
    """The store's /metrics: rows inserted, inserts queued and refused; its CPU from /proc."""
    try:
        with urllib.request.urlopen(f"{city.store.url}/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return StoreReading()
    process = city.store.process
    return StoreReading(
        rows=sum_of(text, "vm_rows_inserted_total"),
        refused=sum_of(text, "vm_concurrent_insert_limit_timeout_total"),
        queued=sum_of(text, "vm_concurrent_insert_limit_reached_total"),
        cpu_s=cpu_seconds(process.pid) if process is not None else 0.0,
    )


def sum_of(text: str, name: str) -> float:
    """The sum of every sample of ``name`` in a Prometheus text page.

    Read line by line: VictoriaMetrics' page is a thousand lines, a second, for three names.
    """
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " "):
            total += float(line.rsplit(" ", 1)[1])
    return total
