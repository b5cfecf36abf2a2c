"""The one clock of the project: wall-clock time in whole milliseconds, the store's precision."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Milliseconds since the epoch: a reading's timestamp, the buffer's and the status's times."""
    return time.time_ns() // 1_000_000
