"""Counters into rates: 32-bit wrap, restarts, discontinuities, never a rate from one sample."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drivers.snmp.rates import WRAP32, CounterRates, UptimeWatch

ROW = ("port", 1)


def test_no_rate_from_a_first_sample() -> None:
    rates = CounterRates()
    assert rates.rate(ROW, "in", 1000, 10.0, wraps=True) is None
    assert rates.rate(ROW, "in", 3000, 12.0, wraps=True) == 1000.0


def test_a_counter32_that_wrapped_gives_the_rate_across_the_wrap() -> None:
    rates = CounterRates()
    rates.rate(ROW, "in", WRAP32 - 1000, 0.0, wraps=True)
    assert rates.rate(ROW, "in", 3000, 2.0, wraps=True) == 2000.0


def test_a_counter64_that_went_down_is_a_discontinuity_not_a_wrap() -> None:
    rates = CounterRates()
    rates.rate(ROW, "in", 2**40, 0.0, wraps=False)
    assert rates.rate(ROW, "in", 5, 1.0, wraps=False) is None
    assert rates.rate(ROW, "in", 105, 2.0, wraps=False) == 100.0


def test_a_counter32_that_fell_by_more_than_half_its_range_was_reset() -> None:
    rates = CounterRates()
    rates.rate(ROW, "in", 1_000_000_000, 0.0, wraps=True)
    assert rates.rate(ROW, "in", 50, 1.0, wraps=True) is None  # wrapped difference ~3.3e9 > 2^31
    assert rates.rate(ROW, "in", 150, 2.0, wraps=True) == 100.0


def test_clear_after_a_restart_means_no_rate_until_the_next_sample() -> None:
    rates = CounterRates()
    rates.rate(ROW, "in", 100, 0.0, wraps=True)
    rates.clear()
    assert rates.rate(ROW, "in", 10, 1.0, wraps=True) is None
    assert rates.rate(ROW, "in", 20, 2.0, wraps=True) == 10.0


def test_a_changed_discontinuity_time_restarts_only_that_row() -> None:
    rates = CounterRates()
    other = ("port", 2)
    for row in (ROW, other):
        rates.discontinuity(row, 0)
        rates.rate(row, "in", 100, 0.0, wraps=True)
    assert rates.discontinuity(ROW, 5000) is True
    assert rates.discontinuity(other, 0) is False
    assert rates.rate(ROW, "in", 10, 1.0, wraps=True) is None
    assert rates.rate(other, "in", 200, 1.0, wraps=True) == 100.0


def test_rows_that_went_away_are_forgotten_after_a_good_poll() -> None:
    rates = CounterRates()
    rates.begin()
    rates.rate(ROW, "in", 100, 0.0, wraps=True)
    rates.rate(("port", 2), "in", 100, 0.0, wraps=True)
    rates.end()
    rates.begin()
    rates.rate(ROW, "in", 200, 1.0, wraps=True)
    rates.end()
    rates.begin()
    assert rates.rate(("port", 2), "in", 300, 2.0, wraps=True) is None  # it was gone one poll
    assert rates.rate(ROW, "in", 300, 2.0, wraps=True) == 100.0


def test_a_counter_a_row_stopped_reporting_starts_over_when_it_comes_back() -> None:
    rates = CounterRates()
    rates.begin()
    rates.rate(ROW, "in", 100, 0.0, wraps=True)
    rates.rate(ROW, "out", 100, 0.0, wraps=True)
    rates.end()
    rates.begin()
    assert rates.rate(ROW, "in", 200, 1.0, wraps=True) == 100.0
    rates.end()
    rates.begin()
    assert rates.rate(ROW, "out", 300, 2.0, wraps=True) is None  # it was gone one poll
    assert rates.rate(ROW, "in", 300, 2.0, wraps=True) == 100.0


def test_a_counter_first_seen_after_its_rows_were_made_has_rates_of_its_own() -> None:
    rates = CounterRates()
    other = ("port", 2)
    rates.rate(ROW, "in", 100, 0.0, wraps=True)
    rates.rate(other, "in", 100, 0.0, wraps=True)
    assert rates.rate(other, "errors", 7, 0.0, wraps=True) is None
    assert rates.rate(ROW, "errors", 5, 1.0, wraps=True) is None
    assert rates.rate(ROW, "errors", 15, 2.0, wraps=True) == 10.0
    assert rates.rate(other, "errors", 9, 2.0, wraps=True) == 1.0
    assert rates.rate(ROW, "in", 300, 2.0, wraps=True) == 100.0


@given(
    st.integers(0, WRAP32 - 1),
    st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=30),
    st.floats(0.5, 300),
)
def test_any_counter32_history_gives_its_true_rates(
    start: int, increments: list[int], interval: float
) -> None:
    rates = CounterRates()
    value, at = start, 0.0
    rates.rate(ROW, "c", value, at, wraps=True)
    for increment in increments:
        value, at = (value + increment) % WRAP32, at + interval
        rate = rates.rate(ROW, "c", value, at, wraps=True)
        assert rate is not None and abs(rate - increment / interval) <= 1e-9 * max(1.0, increment / interval)


def test_uptime_going_back_is_a_restart() -> None:
    watch = UptimeWatch()
    assert watch.restarted(500_000, 0.0) is False
    assert watch.restarted(503_000, 30.0) is False
    assert watch.restarted(1_200, 60.0) is True


def test_uptime_growing_much_less_than_the_time_that_passed_is_a_restart_we_missed() -> None:
    watch = UptimeWatch()
    watch.restarted(1_000, 0.0)  # 10 s after its boot
    assert watch.restarted(3_000, 600.0) is True  # 10 min later it has been up 30 s: it rebooted


def test_the_497_day_wrap_of_timeticks_is_not_a_restart() -> None:
    watch = UptimeWatch()
    watch.restarted(WRAP32 - 1_000, 0.0)
    assert watch.restarted(2_000, 30.0) is False
