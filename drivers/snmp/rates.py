"""Counters into per-second rates: 32-bit wrap, restarts, and never a rate from one sample.

A rate needs two samples of the same counter of the same device lifetime. The first
sample of a counter, the first after the device restarted (sysUpTime went back or grew
less than the time that passed), the first after a row reported a counter discontinuity
(``ifCounterDiscontinuityTime`` changed) and a Counter64 that went down give no rate:
the next poll does. A Counter32 that went down wrapped at 2^32, unless the wrapped
difference is more than half the range, which a real wrap between two polls never is.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

WRAP32 = 2**32
#: A Counter32 "wrap" bigger than this is a reset seen without a sysUpTime change.
HALF32 = 2**31
#: TimeTicks wrap too, after 497 days.
TICKS_WRAP = 2**32
#: Uptime may lag the gateway's clock by this much (hundredths of seconds) plus a share.
TICKS_SLACK = 200
TICKS_SHARE = 0.25


class UptimeWatch:
    """Tells from sysUpTime (hundredths of a second) whether the device restarted since last time."""

    def __init__(self) -> None:
        self._last: tuple[int, float] | None = None

    def restarted(self, ticks: int, at: float) -> bool:
        """Record the uptime read at monotonic time ``at``; True if the device restarted since."""
        last, self._last = self._last, (ticks, at)
        if last is None:
            return False
        old, then = last
        elapsed = max(0.0, at - then) * 100
        slack = TICKS_SLACK + TICKS_SHARE * elapsed
        if ticks >= old:
            # Grew much less than the time that passed: it restarted while we were not looking.
            return ticks - old + slack < elapsed
        # Went back: a restart, unless the 32-bit TimeTicks wrapped after 497 days.
        return abs(ticks + TICKS_WRAP - old - elapsed) > slack

    def forget(self) -> None:
        """Start over (after the session was rebuilt)."""
        self._last = None


#: A row's samples lie in one flat list, three slots a counter: its last value, the
#: monotonic time it was read, and the poll that read it. A campus's switches hold tens of
#: thousands of samples: 100 switches x 48 ports x 9 counters took 6.0 MB as an object and
#: a dict entry a sample, 3.4 MB as these lists (values included).
_VALUE, _AT, _POLL, _STRIDE = 0, 1, 2, 3


class CounterRates:
    """The last sample of every counter of one device, keyed by row and field."""

    def __init__(self) -> None:
        self._rows: dict[Hashable, list[Any]] = {}
        self._slots: dict[str, int] = {}
        self._marks: dict[Hashable, int] = {}
        self._generation = 0

    def begin(self) -> None:
        """A poll starts: samples not seen again by :meth:`end` are dropped (rows that went away)."""
        self._generation += 1

    def end(self) -> None:
        """A poll ended well: forget the rows and counters it no longer saw."""
        generation = self._generation
        for row in [r for r, samples in self._rows.items() if generation not in samples[_POLL::_STRIDE]]:
            del self._rows[row]
            self._marks.pop(row, None)
        for samples in self._rows.values():
            for slot in range(0, len(samples), _STRIDE):
                if samples[slot + _POLL] != generation:
                    samples[slot] = samples[slot + _AT] = samples[slot + _POLL] = None

    def clear(self) -> None:
        """The device restarted: every counter starts over."""
        self._rows.clear()
        self._marks.clear()

    def discontinuity(self, row: Hashable, mark: int) -> bool:
        """Record a row's discontinuity time; True (and the row's counters forgotten) if it changed."""
        old = self._marks.get(row)
        self._marks[row] = mark
        if old is not None and old != mark:
            self._rows.pop(row, None)
            return True
        return False

    def rate(self, row: Hashable, name: str, value: int, at: float, wraps: bool) -> float | None:
        """Per-second rate since the last sample, or None when there is no trustworthy one.

        ``wraps`` is True for a Counter32, which wraps at 2^32; ``at`` is monotonic seconds.
        """
        slot = self._slots.get(name)
        if slot is None:
            slot = self._slots[name] = _STRIDE * len(self._slots)
        samples = self._rows.get(row)
        if samples is None:
            samples = self._rows[row] = [None] * (_STRIDE * len(self._slots))
        elif slot >= len(samples):
            samples.extend([None] * (_STRIDE * len(self._slots) - len(samples)))
        last: int | None = samples[slot + _VALUE]
        then: float = samples[slot + _AT]
        samples[slot + _VALUE], samples[slot + _AT], samples[slot + _POLL] = value, at, self._generation
        if last is None:
            return None
        elapsed = at - then
        if elapsed <= 0:
            return None
        delta = value - last
        if delta < 0:
            if not wraps:
                return None
            delta += WRAP32
            if delta >= HALF32:
                return None
        return delta / elapsed
