"""A small city after a metro outage: every school's books, and how many requests the catch-up took.

Six real agents (three simulated meters each at 1 s, six hours of backlog already in each
buffer) write through vmauth, one token per school, into one VictoriaMetrics that works on
one insert at a time and turns away (503) an insert that waited 10 ms for it. Every school
is cut off for 60 s (``FAULT_SCALE`` stretches it) and they all come back at once.
``python -m bench.city`` is the same city at scale, with the times measured.
"""

from __future__ import annotations

import pytest

from bench.city.report import REQUESTS_PER_BATCH_GOAL, requests_per_batch
from bench.city.rig import Plan
from bench.city.scenario import Run, run

from .conftest import REPORT, SCALE

pytestmark = pytest.mark.faults

SCHOOLS = 6
METERS = 3
BACKLOG_HOURS = 6.0
OUTAGE = 60 * SCALE


@pytest.fixture(scope="module")
def city_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One outage of the small city, shared by the checks below (it takes about two minutes)."""
    # retry_max 2 s: the gateways come back within two seconds of each other, a storm six
    # gateways can make; 10 ms of queue: six 60,000-row inserts at once are more than it holds.
    plan = Plan(
        schools=SCHOOLS,
        meters=METERS,
        store_inserts=1,
        store_queue="10ms",
        retry_max="2s",
        backlog_hours=BACKLOG_HOURS,
    )
    result = run(tmp_path_factory.mktemp("city"), plan, outage=OUTAGE, max_wait=240, raw=False)
    for code, ledger in result.books.items():
        REPORT.append(ledger.line(f"city outage {OUTAGE:.0f}s: {code}"))
    ratio = requests_per_batch(result.at_reopen, result.at_caught)
    REPORT.append(
        f"city outage {OUTAGE:.0f}s: {ratio:.2f} requests per delivered batch; "
        f"failed writes answered {result.answers or 'nothing'}"
    )
    return result


def test_every_school_catches_up_and_its_books_balance(city_run: Run) -> None:
    assert city_run.caught_up, city_run.caught_t
    assert all(code == 0 for code in city_run.exit_codes), city_run.exit_codes
    backlog = METERS * 3600 * BACKLOG_HOURS
    for code, ledger in city_run.books.items():
        # accepted = delivered + dead-lettered + dropped, nothing left, nothing stored twice.
        assert ledger.balanced(), (code, ledger)
        assert ledger.dropped == 0 and ledger.dead_lettered == 0, (code, ledger)
        # The backlog and the meters' readings through the outage are all there.
        assert ledger.readings >= backlog + METERS * OUTAGE, (code, ledger)


#: The most requests per delivered batch this test lets pass: a retry storm (a refused write
#: retried at once, again and again) shows as two and more. The goal itself
#: (REQUESTS_PER_BATCH_GOAL, 1.2) is bench.city's to measure: at six schools and an 8-10 s
#: catch-up the figure follows the box's speed, 1.14 on one box and 1.18-1.24 on a slower
#: one with the same code, and a test must not fail on a slower box.
STORM = 1.5


def test_the_catch_up_takes_few_requests_beyond_those_delivered(city_run: Run) -> None:
    ratio = requests_per_batch(city_run.at_reopen, city_run.at_caught)
    assert ratio <= STORM, (ratio, city_run.answers)
    if ratio > REQUESTS_PER_BATCH_GOAL:
        REPORT.append(
            f"city outage {OUTAGE:.0f}s: {ratio:.2f} requests per delivered batch is over "
            f"bench.city's goal of {REQUESTS_PER_BATCH_GOAL} (run python -m bench.city)"
        )
