"""The city's outage, start to end: warm up, cut every school off, restore, wait, count.

1. every agent answers and has delivered something; ``warmup`` seconds of normal work;
2. vmauth stops: no school reaches the store for ``outage`` seconds (with hours of backlog
   prefilled in every buffer, the city starts cut off instead, and the outage runs from
   when every agent answers);
3. vmauth starts again on the same port; one snapshot a second until every gateway has
   caught up (nothing older than a few seconds waiting), then a few seconds more;
4. every agent stops (SIGTERM: each drains within its grace) and the books of every
   school are read from its buffer and the store;
5. one well-behaved writer posts as many rows as the store took while the city caught up,
   through the same vmauth to the same limited store: the raw ingest time.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.accounting import Books, books

from .raw import raw_ingest_seconds
from .rig import SINK, City, Plan, city
from .watch import Snapshot, Watch

#: Seconds after the city caught up that are still watched (and drawn).
TAIL = 5.0
ANSWERS = re.compile(r"answered (\d{3})")


@dataclass
class Run:
    """What one run of the city saw."""

    plan: Plan
    warmup: float
    outage: float
    snapshots: list[Snapshot]
    restored_t: float
    at_cut: Snapshot
    at_restore: Snapshot
    #: Per gateway, the moment (s since the bench started) it caught up; None if it never did.
    caught_t: list[float | None]
    at_caught: Snapshot
    books: dict[str, Books]
    #: Status codes the agents logged for their failed writes, over the whole run.
    answers: dict[int, int]
    exit_codes: list[int]
    raw_s: float = 0.0
    raw_refused: int = 0
    notes: list[str] = field(default_factory=list)
    #: Points and rows written into the buffers before the agents started.
    prefilled_points: int = 0
    prefilled_rows: int = 0
    #: Of those, the agents' own points' rows (edge_agent, edge_agent_device).
    prefilled_own_rows: int = 0

    @property
    def backlog_fields_per_point(self) -> float:
        """Fields a prefilled point carried on average (12 for meters that send every field)."""
        return self.prefilled_rows / self.prefilled_points if self.prefilled_points else 12.0

    @property
    def at_reopen(self) -> Snapshot:
        """The first snapshot after vmauth answered again: tries that failed before it were the outage's."""
        return next((s for s in self.snapshots if s.phase == "recovery"), self.at_caught)

    @property
    def caught_up(self) -> bool:
        """Every gateway caught up within the wait."""
        return all(t is not None for t in self.caught_t)


def run(
    work: Path, plan: Plan, warmup: float = 20, outage: float = 120, max_wait: float = 900, raw: bool = True
) -> Run:
    """Build the city in ``work``, take it through one outage, and return what was seen."""
    with city(work, plan) as town:
        watch = Watch(town)
        try:
            if plan.backlog_hours:
                # Cut off from the start (rig.city): the outage runs from when every agent answers.
                _wait_until_working(watch, timeout=120 + 3 * plan.schools, delivering=False)
                at_cut = watch.take("outage")
            else:
                _wait_until_working(watch, timeout=120 + 3 * plan.schools)
                watch.every_second("warm-up", warmup)
                at_cut = watch.take("warm-up")
                town.cut()
            watch.every_second("outage", outage)
            at_restore = watch.take("outage")
            town.restore()
            restored_t = time.monotonic() - watch.started
            caught_t, at_caught = _recovery(watch, max_wait)
            watch.every_second("after", TAIL)
        finally:
            watch.close()
        exit_codes = town.stop_agents()
        answers = _answers(town)
        ledgers = _books(town)
        result = Run(
            plan,
            warmup,
            outage,
            watch.snapshots,
            restored_t,
            at_cut,
            at_restore,
            caught_t,
            at_caught,
            ledgers,
            answers,
            exit_codes,
            prefilled_points=sum(g.prefilled.points for g in town.gateways),
            prefilled_rows=sum(g.prefilled.rows for g in town.gateways),
            prefilled_own_rows=sum(g.prefilled.own_rows for g in town.gateways),
        )
        if raw:
            rows = at_caught.store.rows - at_restore.store.rows
            result.raw_s, result.raw_refused = raw_ingest_seconds(
                town.gate.url,
                town.raw_token,
                rows,
                plan.schools * plan.meters,
                plan.store_inserts,
                series_exist=not plan.backlog_hours,
                fields=result.backlog_fields_per_point,
            )
        return result


def _wait_until_working(watch: Watch, timeout: float, delivering: bool = True) -> None:
    """Until every agent answers /metrics (and, ``delivering``, has delivered points)."""
    deadline = time.monotonic() + timeout
    while True:
        snapshot = watch.take("start")
        working = [a.answered and (a.sent_points > 0 or not delivering) for a in snapshot.agents]
        if all(working):
            return
        if time.monotonic() > deadline:
            waiting = working.count(False)
            raise RuntimeError(
                f"{waiting} of {len(snapshot.agents)} agents not working after {timeout:g}s; "
                f"see {watch.city.work}/schools/*/agent.log"
            )
        time.sleep(1)


def _recovery(watch: Watch, max_wait: float) -> tuple[list[float | None], Snapshot]:
    """A snapshot a second until every gateway caught up (or ``max_wait``); when each did."""
    caught: list[float | None] = [None] * len(watch.city.gateways)
    deadline = time.monotonic() + max_wait
    while True:
        snapshot = watch.take("recovery")
        for index, reading in enumerate(snapshot.agents):
            if caught[index] is None and reading.caught_up:
                caught[index] = snapshot.t
        if all(t is not None for t in caught) or time.monotonic() > deadline:
            return caught, snapshot
        time.sleep(max(0.0, 1.0 - (time.monotonic() - watch.started - snapshot.t)))


def _books(town: City, settle: float = 30) -> dict[str, Books]:
    """Every school's books; those that do not balance yet are read again for ``settle`` seconds
    (the store's last writes become visible to its export a moment after they were answered)."""
    ledgers = {g.code: books(g.buffer_file, town.store, g.code, SINK) for g in town.gateways}
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline and not all(b.balanced() for b in ledgers.values()):
        time.sleep(1)
        for gateway in town.gateways:
            if not ledgers[gateway.code].balanced():
                ledgers[gateway.code] = books(gateway.buffer_file, town.store, gateway.code, SINK)
    return ledgers


def _answers(town: City) -> dict[int, int]:
    """How often the agents logged each status code the store (or vmauth) answered a failed write with."""
    counts: dict[int, int] = {}
    for gateway in town.gateways:
        for line in gateway.agent.log_text().splitlines():
            if "sink write failed" in line:
                match = ANSWERS.search(line)
                if match:
                    code = int(match.group(1))
                    counts[code] = counts.get(code, 0) + 1
    return counts
