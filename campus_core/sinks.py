"""Sinks: where buffered batches go. A sink knows its wire protocol and nothing of devices.

The forwarder hands a sink the gzip bytes of one or more buffer batches (concatenated
gzip members form one valid gzip stream) and acts on what the sink raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class SinkError(Exception):
    """The write did not succeed; the data stays in the buffer and is retried.

    ``retry_after`` is the server's wish (Retry-After) in seconds, if it said one.
    """

    def __init__(self, sink: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(f"sink {sink!r}: {reason}")
        self.sink = sink
        self.reason = reason
        self.retry_after = retry_after


class SinkThrottled(SinkError):
    """The store is overloaded: it said 429 or 503, or did not answer in time. Send less."""


class SinkUnreachable(SinkError):
    """No connection to the store at all (refused, no route, a name that does not resolve)."""


class SinkAuthError(SinkError):
    """The store refused our credentials (401/403): a technician must act; retried slowly."""


class SinkRejected(SinkError):
    """The store refused the points themselves (400/422): resending the same bytes cannot help."""

    def __init__(self, sink: str, reason: str, status: int) -> None:
        super().__init__(sink, reason)
        self.status = status


class SinkTooLarge(SinkError):
    """The request was too large (413): send fewer points at a time."""


@dataclass(frozen=True)
class Pacing:
    """How hard a sink may press its store.

    ``max_in_flight``: requests at once at most (the forwarder adapts below it);
    ``max_rate``: points per second at most, None for no cap.
    """

    max_in_flight: int = 1
    max_rate: float | None = None


class Sink(Protocol):
    """What the forwarder needs of a sink."""

    @property
    def name(self) -> str:
        """The sink's name, as its buffer cursor is known."""
        ...

    @property
    def url(self) -> str:
        """Where it sends, for messages (never with credentials)."""
        ...

    @property
    def batch_points(self) -> int:
        """How many points to send in one request at most."""
        ...

    @property
    def retry_max(self) -> float:
        """The longest wait between retries, in seconds."""
        ...

    @property
    def pacing(self) -> Pacing:
        """How many requests at once, and how many points per second, at most."""
        ...

    async def start(self) -> None:
        """Open connections before the first write; raise :class:`SinkError` if it cannot (retried)."""
        ...

    async def write(self, body: bytes, points: int) -> None:
        """Send a gzip body of line protocol; return only once the store acknowledged it."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
