"""The pipeline's intake: readings are encoded once and committed to the buffer in batches.

Polls hand their readings to :meth:`Pipeline.accept`, which only encodes and appends to
a list; :meth:`Pipeline.run` commits that list as one buffer batch every
``flush_interval`` or as soon as ``batch_points`` lines are waiting, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

import structlog

from campus_core.clock import now_ms
from campus_core.readings import Reading

from .buffer import AsyncBuffer
from .normalise import PointEncoder
from .status import AgentStatus

log = structlog.get_logger("edge_agent.pipeline")

#: Lines held in memory while the disk refuses them, in batches; beyond it the oldest go.
MAX_PENDING_BATCHES = 100


class BufferUnavailable(Exception):
    """Readings handed to :meth:`Pipeline.deliver` were dropped before they reached the disk."""


class Pipeline:
    """Encodes readings and commits them to the buffer."""

    def __init__(
        self,
        buffer: AsyncBuffer,
        encoders: dict[str, PointEncoder],
        status: AgentStatus,
        flush_interval: float,
        batch_points: int,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._buffer = buffer
        self._encoders = encoders
        self._status = status
        self._flush_interval = flush_interval
        self._batch_points = batch_points
        self._on_commit = on_commit
        self._pending: list[str] = []
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._committed = 0  # lines committed since start, to tell waiters apart
        self._full = asyncio.Event()

    def accept(self, readings: Iterable[Reading]) -> None:
        """Encode readings into the pending batch; never blocks."""
        pending = self._pending
        encoders = self._encoders
        for reading in readings:
            line = encoders[reading.device].encode(reading)
            if line is not None:
                pending.append(line)
                self._status.points_accepted += 1
        if len(pending) >= self._batch_points:
            self._full.set()

    async def deliver(self, readings: list[Reading]) -> None:
        """Accept readings and return once they are committed to the buffer.

        For pushed readings (MQTT) that must not be acknowledged upstream before they are
        safe on disk. Cancelling the wait does not take the readings back.
        """
        self.accept(readings)
        if not self._pending:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((self._committed + len(self._pending), future))
        await future

    async def run(self) -> None:
        """Commit pending lines until cancelled; a final :meth:`flush` belongs to the caller."""
        while True:
            try:
                async with asyncio.timeout(self._flush_interval):
                    await self._full.wait()
            except TimeoutError:
                pass
            self._full.clear()
            await self.flush()

    async def flush(self) -> None:
        """Commit the lines pending now, in batches of at most ``batch_points`` lines.

        Lines that arrive while it commits wait for the next flush: chasing them would
        commit a batch of a few lines after every append under a steady load.
        """
        todo = len(self._pending)
        while todo > 0 and self._pending:
            count = min(todo, self._batch_points)
            todo -= count
            lines = self._pending[:count]
            del self._pending[:count]
            try:
                appended = await self._buffer.append(lines)
            except Exception as exc:
                self._pending[:0] = lines
                self._status.buffer_errors += 1
                self._shed_excess()
                log.error(
                    "buffer write failed; keeping readings in memory and retrying",
                    error=str(exc),
                    pending=len(self._pending),
                )
                return
            self._status.points_buffered += len(lines)
            self._committed += len(lines)
            self._wake_waiters()
            if appended.dropped:
                self._status.points_dropped += max(appended.dropped.values())
                age = (now_ms() - (appended.newest_dropped_ms or 0)) / 1000
                log.warning(
                    "buffer full (max_disk reached): oldest readings dropped",
                    dropped_by_sink=appended.dropped,
                    newest_dropped_age_s=round(age, 1),
                )
            self._on_commit()

    def _wake_waiters(self) -> None:
        waiting = []
        for upto, future in self._waiters:
            if upto <= self._committed:
                if not future.done():
                    future.set_result(None)
            else:
                waiting.append((upto, future))
        self._waiters = waiting

    def _shed_excess(self) -> None:
        limit = MAX_PENDING_BATCHES * self._batch_points
        excess = len(self._pending) - limit
        if excess > 0:
            del self._pending[:excess]
            # Shed lines never commit: whoever waits for them hears so, and must not ack them.
            self._committed += excess
            for upto, future in self._waiters:
                if upto <= self._committed and not future.done():
                    future.set_exception(BufferUnavailable("readings dropped: the buffer refuses writes"))
            self._waiters = [(u, f) for u, f in self._waiters if not f.done()]
            self._status.points_dropped += excess
            log.error(
                "readings dropped: the buffer has refused writes for too long", dropped=excess, kept=limit
            )
