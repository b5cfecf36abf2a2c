"""Pacing arithmetic: the adaptive limit, the rate cap and the backoff, on given times."""

from __future__ import annotations

import random

import pytest

from edge_agent.pacing import MIN_LIMIT, THROTTLED_CAP, Backoff, Concurrency, RateLimit


def steady(concurrency: Concurrency, seconds: float, windows: int, now: float = 0.0) -> float:
    """``windows`` observation windows of answers taking ``seconds``, the limit used in each."""
    for _ in range(windows):
        concurrency.dispatched(concurrency.slots)
        now += seconds
        concurrency.answered(seconds, now)
    return now


def test_the_limit_grows_by_one_while_answers_stay_fast_and_stops_at_the_maximum() -> None:
    concurrency = Concurrency(maximum=4)
    assert concurrency.slots == 1
    steady(concurrency, 0.1, windows=10)
    assert concurrency.limit == 4.0 and concurrency.slots == 4


def test_an_unused_limit_does_not_grow() -> None:
    concurrency = Concurrency(maximum=8)
    now = 0.0
    for _ in range(10):
        now += 0.1
        concurrency.answered(0.1, now)  # nothing was dispatched up to the limit
    assert concurrency.limit == 1.0


def test_slower_answers_cut_the_limit_and_refusals_push_it_below_one() -> None:
    concurrency = Concurrency(maximum=8)
    now = steady(concurrency, 0.1, windows=12)
    assert concurrency.limit == 8.0
    now += 2.0
    concurrency.answered(2.0, now)  # twenty times the usual answer time
    assert concurrency.limit == 7.0
    for _ in range(40):
        now += 0.1
        concurrency.answered(0.1, now, pressure=True)  # 429 after 429
    assert concurrency.limit == pytest.approx(MIN_LIMIT)
    assert concurrency.slots == 1


def test_below_one_the_limit_is_a_pause_after_each_answer() -> None:
    concurrency = Concurrency(maximum=4)
    concurrency.limit = 0.25
    assert concurrency.pause_after(0.2) == pytest.approx(0.6)  # sending a quarter of the time
    concurrency.limit = 2.0
    assert concurrency.pause_after(0.2) == 0.0


def test_from_below_one_it_climbs_back_in_tenths_then_in_ones() -> None:
    concurrency = Concurrency(maximum=4)
    concurrency.limit = MIN_LIMIT
    seen = [concurrency.limit]
    now = 0.0
    while concurrency.limit < 4.0 and len(seen) < 100:
        now = steady(concurrency, 0.1, windows=1, now=now)
        seen.append(concurrency.limit)
    fractions = sorted({round(limit, 2) for limit in seen if limit < 1})
    assert fractions == [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95]
    assert [limit for limit in seen if limit >= 1] == [1.0, 2.0, 3.0, 4.0]


def test_an_outage_starts_again_from_one() -> None:
    concurrency = Concurrency(maximum=4)
    steady(concurrency, 0.1, windows=10)
    concurrency.outage()
    assert concurrency.limit == 1.0


def test_the_rate_cap_books_time_for_each_request() -> None:
    rate = RateLimit(1000.0)  # points/s
    assert rate.delay(500, now=10.0) == 0.0
    assert rate.delay(500, now=10.0) == pytest.approx(0.5)
    assert rate.delay(500, now=10.2) == pytest.approx(0.8)
    assert rate.delay(100, now=20.0) == 0.0  # an idle while earns no burst beyond one request


def test_the_first_retry_is_spread_and_later_ones_grow_to_the_cap() -> None:
    firsts = []
    for seed in range(200):
        backoff = Backoff(cap=30.0, chance=random.Random(seed))
        firsts.append(backoff.next())
    assert min(firsts) < 0.5 and max(firsts) > 4.5  # spread over the whole first window
    backoff = Backoff(cap=30.0, chance=random.Random(1))
    delays = [backoff.next() for _ in range(10)]
    assert all(d <= 30.0 for d in delays)
    assert delays[-1] >= 15.0  # capped, with jitter of at most half
    backoff.reset()
    assert backoff.next() <= 5.0


def test_a_busy_store_is_retried_within_seconds_however_often_it_refused() -> None:
    backoff = Backoff(cap=30.0, chance=random.Random(2))
    busy = [backoff.next(busy=True) for _ in range(12)]
    assert all(d <= THROTTLED_CAP for d in busy) and max(busy[4:]) >= THROTTLED_CAP / 2
    # The count goes on: a store that then cannot be reached at all is backed off from there.
    assert backoff.next() >= 15.0
    # A busy store's Retry-After still rules.
    assert backoff.next(at_least=60.0, busy=True) >= 60.0


def test_a_retry_after_is_never_undercut() -> None:
    backoff = Backoff(cap=5.0, chance=random.Random(3))
    for _ in range(20):
        assert 60.0 <= backoff.next(at_least=60.0) <= 72.0
