"""Report by exception, field by field: what goes to the store and what is held back."""

from __future__ import annotations

from campus_core.readings import FieldValue, Reading
from campus_core.reporting import DeviceReporting, FieldReporting, ReportPolicy, policy
from edge_agent.reporting import ChangeFilter

MIN = 60_000


def on_change(deadband: float | None = None, pct: float | None = None, heartbeat: str = "5m") -> ReportPolicy:
    rules = policy(
        DeviceReporting(report="on_change", heartbeat=heartbeat, deadband=deadband, deadband_pct=pct), []
    )
    assert rules is not None
    return rules


def poll(t: int, tags: tuple[tuple[str, str], ...] = (), **values: FieldValue) -> list[Reading]:
    return [Reading.of("d", t, tuple(values.items()), tags)]


def sent(changes: ChangeFilter, readings: list[Reading]) -> dict[str, FieldValue]:
    return {
        name: value for r in changes.apply(readings) for name, value in zip(r.names, r.values, strict=True)
    }


def test_always_is_no_policy_at_all() -> None:
    assert policy(DeviceReporting(), [("co2_ppm", FieldReporting(deadband=10), True)]) is None


def test_the_first_read_goes_whole_then_only_what_moved_past_its_deadband() -> None:
    changes = ChangeFilter(on_change(deadband=10))
    assert sent(changes, poll(0, co2=612.0, temp=21.0)) == {"co2": 612.0, "temp": 21.0}
    assert sent(changes, poll(10_000, co2=618.0, temp=21.0)) == {}
    assert sent(changes, poll(20_000, co2=623.0, temp=21.0)) == {"co2": 623.0}
    assert (changes.sent, changes.suppressed) == (3, 3)


def test_a_slow_drift_is_measured_from_the_value_last_sent_not_the_last_polled() -> None:
    changes = ChangeFilter(on_change(deadband=10))
    sent(changes, poll(0, co2=600.0))
    # 4 ppm a poll never moves 10 from the poll before, but moves 12 from what was sent.
    assert [sent(changes, poll(t * 10_000, co2=600.0 + 4 * t)) for t in (1, 2, 3)] == [{}, {}, {"co2": 612.0}]


def test_a_heartbeat_is_the_fresh_value_at_its_own_read_time() -> None:
    changes = ChangeFilter(on_change(deadband=10, heartbeat="5m"))
    sent(changes, poll(0, co2=600.0))
    assert changes.apply(poll(4 * MIN, co2=601.0)) == []
    [beat] = changes.apply(poll(5 * MIN, co2=602.0))
    assert (beat.time_ms, beat.values) == (5 * MIN, (602.0,))  # not 600 stamped with a new time


def test_a_percent_deadband_is_of_the_value_last_sent() -> None:
    changes = ChangeFilter(on_change(pct=2.0))
    sent(changes, poll(0, power_w=1000.0))
    assert sent(changes, poll(1, power_w=1019.0)) == {}
    assert sent(changes, poll(2, power_w=1021.0)) == {"power_w": 1021.0}
    sent(changes, poll(3, power_w=0.0))
    assert sent(changes, poll(4, power_w=0.5)) == {"power_w": 0.5}  # from zero, any change


def test_a_deadband_of_zero_sends_every_change_and_booleans_send_when_they_flip() -> None:
    changes = ChangeFilter(on_change(deadband=0))
    sent(changes, poll(0, energy_kwh=10.0, running=True))
    assert sent(changes, poll(1, energy_kwh=10.0, running=True)) == {}
    assert sent(changes, poll(2, energy_kwh=10.01, running=False)) == {"energy_kwh": 10.01, "running": False}


def test_a_field_s_own_setting_wins_over_the_device_s() -> None:
    rules = policy(
        DeviceReporting(report="on_change", deadband=10),
        [("energy_kwh", FieldReporting(deadband=0), True), ("raw", FieldReporting(report="always"), True)],
    )
    assert rules is not None
    changes = ChangeFilter(rules)
    sent(changes, poll(0, co2=600.0, energy_kwh=1.0, raw=5.0))
    assert sent(changes, poll(1, co2=605.0, energy_kwh=1.001, raw=5.0)) == {"energy_kwh": 1.001, "raw": 5.0}


def test_a_changed_state_tag_sends_the_point_whole_and_so_does_its_return() -> None:
    changes = ChangeFilter(on_change(deadband=100))
    idle, running = (("state", "idle"),), (("state", "running"),)
    sent(changes, poll(0, idle, spindle_rpm=0.0))
    assert sent(changes, poll(1, idle, spindle_rpm=0.0)) == {}
    assert sent(changes, poll(2, running, spindle_rpm=0.0)) == {"spindle_rpm": 0.0}
    assert sent(changes, poll(3, idle, spindle_rpm=0.0)) == {"spindle_rpm": 0.0}


def test_after_a_reset_the_next_read_goes_whole() -> None:
    changes = ChangeFilter(on_change(deadband=10))
    sent(changes, poll(0, co2=600.0))
    changes.reset()  # the device failed, or reconnected
    assert sent(changes, poll(1, co2=600.0)) == {"co2": 600.0}


def test_table_rows_are_series_of_their_own() -> None:
    changes = ChangeFilter(on_change(deadband=0))
    rows = [Reading.of("sw", 0, (("in_bps", 1.0),), (("if", str(i)),)) for i in range(3)]
    assert len(changes.apply(rows)) == 3
    moved = [Reading.of("sw", 1, (("in_bps", 1.0 + (i == 1)),), (("if", str(i)),)) for i in range(3)]
    assert [r.tags for r in changes.apply(moved)] == [(("if", "1"),)]


def test_a_pushed_device_keeps_its_sensors_apart_without_poll_boundaries() -> None:
    changes = ChangeFilter(on_change(deadband=10), polled=False)
    a, b = (("room", "201"),), (("room", "202"),)
    sent(changes, poll(0, a, co2=600.0))
    sent(changes, poll(1, b, co2=900.0))
    assert sent(changes, poll(2, a, co2=605.0)) == {}  # room 201 did not move, though 202 came between
