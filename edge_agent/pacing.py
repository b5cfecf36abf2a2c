"""How fast a sink sends: adaptive concurrency, an optional rate cap, and retry backoff.

A city store serves hundreds of gateways, and after a metro-network outage they all come
back at once with hours of backlog. Each sink therefore paces itself on what the store's
answers say, the way Vector's adaptive request concurrency does:

- :class:`Concurrency` keeps a limit on requests in flight. Once per observation window
  (about one answer time) it compares the window's mean answer time with the long-run
  mean: the limit grows by one while answers stay as fast and the limit was used, and is
  cut by a tenth when they slow down past the usual spread, or when the store said 429 or
  503 or did not answer in time. Below one request in flight the limit is a duty cycle:
  at 0.25 the sink waits three answer times after each answer, so a thousand gateways can
  together ask less of a store than a thousand requests at once.
- :class:`RateLimit` is the hard cap a city may set (``max_rate``, points/s).
- :class:`Backoff` spaces the retries: the first retry after an outage begins is drawn at
  random over a few seconds so that gateways failing together do not return together, the
  later ones grow exponentially to ``retry_max``, and a ``Retry-After`` is never undercut.
  A store that is busy (429/503 without Retry-After, or slow past the timeout) is retried
  within :data:`THROTTLED_CAP`: the lowered concurrency already asks less of it, and a
  gateway left waiting half a minute would find the store idle when it returns.

Everything here is arithmetic on the times it is given, so it is tested without a clock.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

#: The window over which the first retry after an outage is spread (seconds).
FIRST_RETRY_WINDOW = 5.0
#: The longest wait before retrying a store that answered "busy" (seconds). Measured with
#: bench.city: with retry_max 30 s, the last schools of a reconnect storm sat out the final
#: fifth of the catch-up in backoff while the store idled.
THROTTLED_CAP = 4.0

#: How far past a Retry-After the retries of many gateways are spread (a share of it).
RETRY_AFTER_SPREAD = 0.2
#: The lowest limit: one request, then a pause of 19 answer times.
MIN_LIMIT = 0.05
#: How much a window without trouble adds to a limit below one.
FRACTION_STEP = 0.1


@dataclass
class _Mean:
    """An exponentially weighted mean and mean deviation."""

    alpha: float
    mean: float | None = None
    deviation: float = 0.0

    def update(self, value: float) -> None:
        if self.mean is None:
            self.mean = value
            return
        self.deviation = (1 - self.alpha) * self.deviation + self.alpha * abs(value - self.mean)
        self.mean = (1 - self.alpha) * self.mean + self.alpha * value


class Concurrency:
    """An AIMD limit on requests in flight, driven by answer times and back-pressure."""

    def __init__(
        self,
        maximum: int,
        *,
        decrease: float = 0.9,
        alpha: float = 0.4,
        deviation_scale: float = 2.5,
        min_window: float = 0.05,
    ) -> None:
        self.maximum = max(1, maximum)
        self.limit = 1.0
        self.decrease = decrease
        self.deviation_scale = deviation_scale
        self.min_window = min_window
        self._past = _Mean(alpha)
        self._window_start: float | None = None
        self._window_sum = 0.0
        self._window_count = 0
        self._reached = False
        self._pressure = False

    @property
    def slots(self) -> int:
        """Requests that may be in flight at once now."""
        return max(1, math.floor(self.limit))

    def pause_after(self, seconds: float) -> float:
        """The wait after an answer that took ``seconds``: none at a limit of one or more."""
        return 0.0 if self.limit >= 1 else seconds * (1 / self.limit - 1)

    def dispatched(self, in_flight: int) -> None:
        """A request left; ``in_flight`` now counts it. Growing is earned only by a used limit."""
        if in_flight >= self.slots:
            self._reached = True

    def answered(self, seconds: float, now: float, pressure: bool = False) -> None:
        """A request ended after ``seconds``; ``pressure``: the store said 429/503 or timed out."""
        if self._window_start is None:
            self._window_start = now - seconds
        self._window_sum += seconds
        self._window_count += 1
        self._pressure = self._pressure or pressure
        current = self._window_sum / self._window_count
        if pressure or now - self._window_start >= max(self.min_window, self._past.mean or current):
            self._adjust(current)

    def outage(self) -> None:
        """The store could not be reached at all: start again from one request at a time."""
        self.limit = min(self.limit, 1.0)
        self._reset_window()

    def _adjust(self, current: float) -> None:
        past = self._past
        slower = past.mean is not None and current > past.mean + self.deviation_scale * past.deviation
        if self._pressure or slower:
            self.limit = max(MIN_LIMIT, self.limit * self.decrease)
            if self.limit >= 1:
                self.limit = float(math.floor(self.limit))
        elif self._reached and (past.mean is None or current <= past.mean):
            if self.limit >= 1:
                self.limit = min(float(self.maximum), self.limit + 1)
            else:
                self.limit = min(1.0, self.limit + FRACTION_STEP)
        if not self._pressure:
            # A refusal's or a timeout's "answer time" says nothing of how fast the store
            # works: only real answers teach the mean.
            past.update(current)
        self._reset_window()

    def _reset_window(self) -> None:
        self._window_start = None
        self._window_sum = 0.0
        self._window_count = 0
        self._reached = False
        self._pressure = False


class RateLimit:
    """At most ``rate`` points per second on average: each request books its share of time."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = 0.0

    def delay(self, points: int, now: float) -> float:
        """How long to wait before sending ``points``; the time is booked for them."""
        start = max(now, self._next)
        self._next = start + points / self.rate
        return start - now


class Backoff:
    """Retry delays: a spread-out first retry, then exponential with jitter up to ``cap``."""

    def __init__(
        self,
        cap: float,
        base: float = 1.0,
        first_window: float = FIRST_RETRY_WINDOW,
        chance: random.Random | None = None,
    ) -> None:
        self.cap = cap
        self.base = base
        self.first_window = first_window
        self.failures = 0
        self._random = chance or random.Random()

    def next(self, at_least: float = 0.0, *, busy: bool = False) -> float:
        """The delay before the next try, never shorter than ``at_least`` (a Retry-After).

        ``busy``: the store answered but is overloaded; the delay stays within THROTTLED_CAP.
        """
        self.failures += 1
        cap = min(self.cap, THROTTLED_CAP) if busy else self.cap
        if self.failures == 1:
            # Gateways that failed in the same second (a store restart, a link flap) would
            # otherwise all retry in the same second: spread the first retry widely.
            delay = self._random.uniform(0.0, min(cap, self.first_window))
        else:
            delay = min(cap, self.base * 2.0 ** (self.failures - 1)) * self._random.uniform(0.5, 1.0)
        return max(delay, self.after(at_least))

    def after(self, retry_after: float) -> float:
        """A Retry-After, spread a little past itself so that many gateways do not return at once."""
        if retry_after <= 0:
            return 0.0
        return retry_after * self._random.uniform(1.0, 1.0 + RETRY_AFTER_SPREAD)

    def reset(self) -> None:
        """Success: the next failure is the first of a new outage."""
        self.failures = 0
