"""The forwarder: drains the buffer into each sink, in order, one loop per sink.

A batch is acknowledged in the buffer only after the sink returned, that is after the
store answered 2xx. One sink failing never holds another back: each has its own cursor.
"""

from __future__ import annotations

import asyncio
import random
import time

import structlog

from campus_core.sinks import Sink, SinkAuthError, SinkError, SinkRejected, SinkTooLarge

from .buffer import AsyncBuffer, Batch, encode_batch
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
        try:
            await self._start(sink, status, backoff)
            while True:
                wakeup.clear()
                batches = await self._buffer.read(sink.name, sink.batch_points)
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
                    continue
                if backoff.failures:
                    log.info("sink recovered", sink=sink.name, after_failures=backoff.failures)
                backoff.reset()
        finally:
            await sink.close()

    async def _start(self, sink: Sink, status: SinkStatus, backoff: Backoff) -> None:
        """Open the sink; one that cannot start (a TLS file unusable) is retried like a failed write."""
        while True:
            try:
                await sink.start()
                return
            except SinkError as exc:
                await self._failed(sink, exc, status, backoff)

    async def _send(self, sink: Sink, batches: list[Batch], status: SinkStatus) -> None:
        points = sum(b.points for b in batches)
        try:
            await sink.write(b"".join(b.data for b in batches), points)
        except (SinkRejected, SinkTooLarge) as exc:
            if len(batches) > 1:
                # One at a time: find the batch the store refuses, or send smaller requests.
                for batch in batches:
                    await self._send(sink, [batch], status)
                return
            if isinstance(exc, SinkTooLarge):
                await self._send_in_halves(sink, batches[0], status)
                return
            await self._dead_letter(sink, batches[0], exc.status, exc.reason)
            return
        await self._buffer.ack(sink.name, batches)
        self._sent(status, points)

    async def _send_in_halves(self, sink: Sink, batch: Batch, status: SinkStatus) -> None:
        """A 413 for one batch: send its lines in halves (and halves of halves), then ack it.

        If the agent stops half-way, the whole batch is sent again later: at-least-once, and
        the store overwrites what it already has.
        """
        pending = [batch.lines()]
        while pending:
            lines = pending.pop(0)
            try:
                await sink.write(encode_batch(lines), len(lines))
            except SinkTooLarge as exc:
                if len(lines) == 1:
                    await self._dead_letter(sink, batch, 413, f"one point is too large: {exc.reason}")
                    return
                half = len(lines) // 2
                pending[:0] = [lines[:half], lines[half:]]
                continue
            self._sent(status, len(lines))
        await self._buffer.ack(sink.name, [batch])

    async def _dead_letter(self, sink: Sink, batch: Batch, code: int, reason: str) -> None:
        await self._buffer.dead_letter(sink.name, batch, code, reason)
        self._status.sinks[sink.name].dead_points += batch.points
        log.error("store refused a batch; kept in dead letters, the queue goes on",
                  sink=sink.name, points=batch.points, batch=batch.id, reason=reason)

    @staticmethod
    def _sent(status: SinkStatus, points: int) -> None:
        status.sent_points += points
        status.sent_requests += 1
        status.consecutive_failures = 0
        status.last_ok_ms = time.time_ns() // 1_000_000

    async def _failed(self, sink: Sink, exc: SinkError, status: SinkStatus, backoff: Backoff) -> None:
        status.failures += 1
        status.consecutive_failures += 1
        status.last_error = exc.reason
        if isinstance(exc, SinkAuthError):
            status.auth_failures += 1
            # Credentials do not fix themselves quickly: try at the slowest pace.
            delay = backoff.next(at_least=sink.retry_max)
            log.error("store refused the credentials; data kept, retrying", sink=sink.name,
                      reason=exc.reason, retry_in=round(delay, 1))
        else:
            delay = backoff.next(at_least=min(exc.retry_after or 0.0, 3600.0))
            log.warning("sink write failed; data kept, retrying", sink=sink.name,
                        reason=exc.reason, retry_in=round(delay, 1), failures=backoff.failures)
        await asyncio.sleep(delay)
