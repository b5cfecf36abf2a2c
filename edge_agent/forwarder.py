"""The forwarder: drains the buffer into each sink, in order, one loop per sink.

A batch is acknowledged in the buffer only after the sink returned, that is after the
store answered 2xx. One sink failing never holds another back: each has its own cursor.
"""

from __future__ import annotations

import asyncio
import random
import time

import structlog

from .buffer import AsyncBuffer, Batch
from .sinks import Sink, SinkAuthError, SinkError, SinkRejected, SinkTooLarge
from .status import AgentStatus, SinkStatus

log = structlog.get_logger("edge_agent.forwarder")

#: Wait when there is nothing to send, in case a notification was missed.
IDLE_POLL = 1.0


class Backoff:
    """Exponential backoff with jitter and a cap: 1s, 2s, 4s ... up to ``cap``."""

    def __init__(self, cap: float, base: float = 1.0) -> None:
        self.cap = cap
        self.base = base
        self.failures = 0

    def next(self, at_least: float = 0.0) -> float:
        """The delay before the next try; jitter spreads gateways that failed together."""
        self.failures += 1
        delay = min(self.cap, self.base * 2.0 ** (self.failures - 1))
        return max(at_least, delay * random.uniform(0.5, 1.0))

    def reset(self) -> None:
        """Success: start from the base again."""
        self.failures = 0


class Forwarder:
    """One drain loop per sink."""

    def __init__(self, buffer: AsyncBuffer, sinks: list[Sink], status: AgentStatus) -> None:
        self._buffer = buffer
        self._sinks = sinks
        self._status = status
        self._wakeups = {sink.name: asyncio.Event() for sink in sinks}

    def notify(self) -> None:
        """New batches were committed."""
        for event in self._wakeups.values():
            event.set()

    async def drained(self, grace: float) -> bool:
        """Wait up to ``grace`` seconds for every sink to have sent everything buffered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        self.notify()
        while True:
            stats = await self._buffer.stats()
            if all(b.points == 0 for b in stats.backlog):
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.05)

    async def run(self) -> None:
        """Drain every sink until cancelled."""
        async with asyncio.TaskGroup() as group:
            for sink in self._sinks:
                group.create_task(self._drain(sink), name=f"sink:{sink.name}")

    async def _drain(self, sink: Sink) -> None:
        status = self._status.sinks[sink.name]
        wakeup = self._wakeups[sink.name]
        backoff = Backoff(sink.retry_max)
        limit = sink.batch_points
        await sink.start()
        try:
            while True:
                wakeup.clear()
                batches = await self._buffer.read(sink.name, limit)
                if not batches:
                    try:
                        async with asyncio.timeout(IDLE_POLL):
                            await wakeup.wait()
                    except TimeoutError:
                        pass
                    continue
                try:
                    await self._send(sink, batches, status)
                except SinkError as exc:
                    await self._failed(sink, exc, status, backoff)
                    if isinstance(exc, SinkTooLarge) and limit > 1:
                        limit = max(1, limit // 2)
                    continue
                if backoff.failures:
                    log.info("sink recovered", sink=sink.name, after_failures=backoff.failures)
                backoff.reset()
                limit = sink.batch_points
        finally:
            await sink.close()

    async def _send(self, sink: Sink, batches: list[Batch], status: SinkStatus) -> None:
        points = sum(b.points for b in batches)
        try:
            await sink.write(b"".join(b.data for b in batches), points)
        except SinkRejected as exc:
            if len(batches) > 1:
                # Find the batch the store refuses; the others go through.
                for batch in batches:
                    await self._send(sink, [batch], status)
                return
            await self._buffer.dead_letter(sink.name, batches[0], exc.status, exc.reason)
            log.error("store refused a batch as malformed; kept in dead letters",
                      sink=sink.name, points=batches[0].points, batch=batches[0].id, reason=exc.reason)
            return
        await self._buffer.ack(sink.name, batches)
        status.sent_points += points
        status.sent_requests += 1
        status.consecutive_failures = 0
        status.last_ok_ms = time.time_ns() // 1_000_000

    async def _failed(self, sink: Sink, exc: SinkError, status: SinkStatus, backoff: Backoff) -> None:
        status.failures += 1
        status.consecutive_failures += 1
        status.last_error = exc.reason
        if isinstance(exc, SinkAuthError):
            # Credentials do not fix themselves quickly: try at the slowest pace.
            delay = backoff.next(at_least=sink.retry_max)
            log.error("store refused the credentials; data kept, retrying", sink=sink.name,
                      reason=exc.reason, retry_in=round(delay, 1))
        else:
            delay = backoff.next(at_least=min(exc.retry_after or 0.0, 3600.0))
            log.warning("sink write failed; data kept, retrying", sink=sink.name,
                        reason=exc.reason, retry_in=round(delay, 1), failures=backoff.failures)
        await asyncio.sleep(delay)
