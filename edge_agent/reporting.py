"""Report by exception: of each reading, only the fields that moved or whose heartbeat is due.

One :class:`ChangeFilter` per device whose policy sends anything on change
(:mod:`campus_core.reporting`). A field goes out when it moved past its deadband since the
value *last sent* (measured against the last polled value, a slow drift would never go
out), or when its heartbeat is due: the fresh value of this read, at this read's own
timestamp, never a cached one. Fields that did not move stay out of the point; the point
keeps its tags. A reading whose tags differ from its series' last ones (a state name that
changed, a new table row) is sent whole, and so is the first good read after the device
failed, reconnected or was (re)started: :meth:`ChangeFilter.reset`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from campus_core.readings import FieldValue, Reading
from campus_core.reporting import FieldRule, ReportPolicy

#: Series one device may keep state for (a large switch's table rows stay well below).
MAX_SERIES = 10_000

SeriesKey = tuple[str | None, tuple[tuple[str, str], ...]]


@dataclass(slots=True)
class _Series:
    """What was last sent of one series: per field, the value and when."""

    names: tuple[str, ...] = ()
    rules: tuple[FieldRule, ...] = ()
    sent: dict[str, tuple[FieldValue, int]] = field(default_factory=dict)


class ChangeFilter:
    """One device's report by exception; counts what it sent and what it held back."""

    def __init__(self, policy: ReportPolicy, polled: bool = True) -> None:
        self._policy = policy
        self._polled = polled
        self._series: dict[SeriesKey, _Series] = {}
        self._last_poll: set[SeriesKey] = set()
        self.sent = 0
        self.suppressed = 0

    def reset(self) -> None:
        """The device failed, reconnected or restarted: its next good read goes out whole."""
        self._series.clear()
        self._last_poll.clear()

    def apply(self, readings: list[Reading]) -> list[Reading]:
        """The readings of one poll (or one delivery) as they go to the store."""
        out: list[Reading] = []
        this_poll: set[SeriesKey] = set()
        for reading in readings:
            key = (reading.measurement, reading.tags)
            this_poll.add(key)
            series = self._series.get(key)
            # A polled series missing from the poll before is new again: a state tag that
            # changed and changed back must not be held against values from long ago.
            if series is None or (self._polled and key not in self._last_poll):
                series = _Series()
                if len(self._series) < MAX_SERIES:
                    self._series[key] = series
            kept = self._keep(reading, series)
            if kept is not None:
                out.append(kept)
        if self._polled:
            self._last_poll = this_poll
        return out

    def _keep(self, reading: Reading, series: _Series) -> Reading | None:
        names, values, now = reading.names, reading.values, reading.time_ms
        if names != series.names:
            series.names = names
            series.rules = tuple(self._policy.rule(name) for name in names)
        sent = series.sent
        keep_names: list[str] = []
        keep_values: list[FieldValue] = []
        for name, value, rule in zip(names, values, series.rules, strict=True):
            last = sent.get(name)
            if (
                last is None
                or not rule.on_change
                or _moved(value, last[0], rule)
                or now - last[1] >= rule.heartbeat_ms
            ):
                sent[name] = (value, now)
                keep_names.append(name)
                keep_values.append(value)
        self.sent += len(keep_names)
        self.suppressed += len(names) - len(keep_names)
        if not keep_names:
            return None
        if len(keep_names) == len(names):
            return reading
        return Reading(
            reading.device, now, tuple(keep_names), tuple(keep_values), reading.tags, reading.measurement
        )


def _moved(value: FieldValue, last: FieldValue, rule: FieldRule) -> bool:
    """Whether ``value`` moved past the rule's deadband from ``last``, the value last sent."""
    if isinstance(value, bool) or isinstance(last, bool):
        return value != last
    distance = abs(value - last)
    if rule.deadband_pct is not None:
        return distance > abs(last) * rule.deadband_pct / 100 or (last == 0 and distance > 0)
    if rule.deadband:
        return distance > rule.deadband
    return distance > 0 or value != value  # NaN is never equal: sent, and the encoder drops it
