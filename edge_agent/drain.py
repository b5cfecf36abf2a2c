"""One sink's drain: the buffer's batches into one sink, oldest first, as fast as the store allows.

A batch is acknowledged in the buffer only after the sink returned, that is after the
store answered 2xx. The drain keeps several requests in flight when the store keeps up,
fewer (down to a pause after each answer) when it slows down or says 429/503:
edge_agent/pacing.py decides how many, and the buffer settles batches in whatever order
their requests finish. What the store answers decides the batch's way:

- 2xx: acknowledged;
- 400/422 (the points themselves are refused): the batch goes to the dead letters and the
  queue goes on; several batches in one request are first tried one at a time, to find it;
- 413: the batch is sent in halves, and halves of halves;
- 401/403: kept and retried at the slowest pace; anything else (5xx, 429, a timeout, no
  connection): kept and retried with backoff, honouring ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass

import structlog

from campus_core.clock import now_ms
from campus_core.sinks import (
    Sink,
    SinkAuthError,
    SinkError,
    SinkRejected,
    SinkThrottled,
    SinkTooLarge,
    SinkUnreachable,
)

from .buffer import AsyncBuffer, Batch, encode_batch
from .pacing import Backoff, Concurrency, RateLimit
from .status import SinkStatus

log = structlog.get_logger("edge_agent.forwarder")

#: Wait when there is nothing to send, in case a notification was missed.
IDLE_POLL = 1.0


class SinkDrain:
    """Everything one sink's sending does: start, send, halve, dead-letter, fail, pace.

    The oldest batch goes first; a request that fails goes back to the front, and no new
    request leaves until the backoff is over. How many may be in flight is the pacing's
    adaptive limit (a duty cycle below one); ``max_rate`` books time for each request.
    """

    def __init__(self, buffer: AsyncBuffer, sink: Sink, status: SinkStatus) -> None:
        self._buffer = buffer
        self._sink = sink
        self._status = status
        self._wakeup = asyncio.Event()
        self._backoff = Backoff(sink.retry_max)
        pacing = sink.pacing
        self._concurrency = Concurrency(pacing.max_in_flight)
        self._rate = RateLimit(pacing.max_rate) if pacing.max_rate else None
        self._in_flight: dict[asyncio.Task[_Result], list[Batch]] = {}
        self._retry: list[list[Batch]] = []  # failed requests, oldest first
        self._handed = 0  # the newest batch id read
        self._resume_at = 0.0

    @property
    def name(self) -> str:
        """The sink's name (its buffer cursor)."""
        return self._sink.name

    def wake(self) -> None:
        """New batches were committed."""
        self._wakeup.set()

    async def run(self) -> None:
        """Send until cancelled; the sink is closed on the way out."""
        loop = asyncio.get_running_loop()
        try:
            await self._start()
            self._status.concurrency = self._concurrency.limit
            while True:
                await self._room(loop)
                self._wakeup.clear()
                batches = self._retry.pop(0) if self._retry else await self._read()
                if not batches:
                    await self._idle()
                    continue
                if self._rate is not None:
                    await asyncio.sleep(self._rate.delay(sum(b.points for b in batches), loop.time()))
                task = asyncio.create_task(self._request(batches), name=f"sink:{self.name}:{batches[0].id}")
                self._in_flight[task] = batches
                self._concurrency.dispatched(len(self._in_flight))
        finally:
            # Whatever was in flight is not acknowledged: it is sent again after the restart.
            for task in self._in_flight:
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self._sink.close()

    async def _start(self) -> None:
        """Open the sink; one that cannot start (a TLS file unusable) is retried like a failed write."""
        while True:
            try:
                await self._sink.start()
                return
            except SinkError as exc:
                await asyncio.sleep(self._failure(exc))

    async def _read(self) -> list[Batch]:
        batches = await self._buffer.read(self.name, self._sink.batch_points, after=self._handed)
        if batches:
            self._handed = batches[-1].id
        return batches

    async def _room(self, loop: asyncio.AbstractEventLoop) -> None:
        """Settle what has finished; wait until a request may leave."""
        while True:
            self._settle([task for task in self._in_flight if task.done()], loop.time())
            wait = self._resume_at - loop.time()
            if len(self._in_flight) < self._concurrency.slots and wait <= 0:
                return
            if self._in_flight:
                await asyncio.wait(
                    self._in_flight,
                    timeout=wait if wait > 0 else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            else:
                await asyncio.sleep(wait)

    async def _idle(self) -> None:
        """Nothing to send: wait for new batches, or for a request to finish (it may fail back)."""
        waiter = asyncio.create_task(self._wakeup.wait())
        try:
            await asyncio.wait(
                {waiter, *self._in_flight}, timeout=IDLE_POLL, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()

    async def _request(self, batches: list[Batch]) -> _Result:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await self._send(batches)
        except SinkError as exc:
            return _Result(loop.time() - started, exc)
        return _Result(loop.time() - started, None)

    async def _send(self, batches: list[Batch]) -> None:
        points = sum(b.points for b in batches)
        try:
            await self._sink.write(b"".join(b.data for b in batches), points)
        except (SinkRejected, SinkTooLarge) as exc:
            if len(batches) > 1:
                # One at a time: find the batch the store refuses, or send smaller requests.
                for batch in batches:
                    await self._send([batch])
                return
            if isinstance(exc, SinkTooLarge):
                await self._send_in_halves(batches[0])
                return
            await self._dead_letter(batches[0], exc.status, exc.reason)
            return
        await self._buffer.ack(self.name, batches)
        self._sent(points)

    async def _send_in_halves(self, batch: Batch) -> None:
        """A 413 for one batch: send its lines in halves (and halves of halves), then ack it.

        If the agent stops half-way, the whole batch is sent again later: at-least-once, and
        the store overwrites what it already has.
        """
        pending = [batch.lines()]
        while pending:
            lines = pending.pop(0)
            try:
                await self._sink.write(encode_batch(lines), len(lines))
            except SinkTooLarge as exc:
                if len(lines) == 1:
                    await self._dead_letter(batch, 413, f"one point is too large: {exc.reason}")
                    return
                half = len(lines) // 2
                pending[:0] = [lines[:half], lines[half:]]
                continue
            self._sent(len(lines))
        await self._buffer.ack(self.name, [batch])

    async def _dead_letter(self, batch: Batch, code: int, reason: str) -> None:
        await self._buffer.dead_letter(self.name, batch, code, reason)
        self._status.dead_points += batch.points
        log.error(
            "store refused a batch; kept in dead letters, the queue goes on",
            sink=self.name,
            points=batch.points,
            batch=batch.id,
            reason=reason,
        )

    def _sent(self, points: int) -> None:
        status = self._status
        status.sent_points += points
        status.sent_requests += 1
        status.consecutive_failures = 0
        status.last_ok_ms = now_ms()

    def _failure(self, exc: SinkError) -> float:
        """Count and log a failed write; the delay before the next try."""
        status, backoff = self._status, self._backoff
        status.failures += 1
        status.consecutive_failures += 1
        status.last_error = exc.reason
        if isinstance(exc, SinkThrottled):
            status.throttled += 1
        if isinstance(exc, SinkAuthError):
            status.auth_failures += 1
            # Credentials do not fix themselves quickly: try at the slowest pace.
            delay = backoff.next(at_least=self._sink.retry_max)
            log.error(
                "store refused the credentials; data kept, retrying",
                sink=self.name,
                reason=exc.reason,
                retry_in=round(delay, 1),
            )
        else:
            delay = backoff.next(
                at_least=min(exc.retry_after or 0.0, 3600.0), busy=isinstance(exc, SinkThrottled)
            )
            log.warning(
                "sink write failed; data kept, retrying",
                sink=self.name,
                reason=exc.reason,
                retry_in=round(delay, 1),
                failures=backoff.failures,
            )
        return delay

    def _settle(self, finished: list[asyncio.Task[_Result]], now: float) -> None:
        for task in finished:
            batches = self._in_flight.pop(task)
            result = task.result()  # a bug in the drain itself stops the agent here
            exc = result.error
            concurrency = self._concurrency
            if exc is None:
                concurrency.answered(result.seconds, now)
                if self._backoff.failures:
                    log.info("sink recovered", sink=self.name, after_failures=self._backoff.failures)
                    self._backoff.reset()
                self._resume_at = max(self._resume_at, now + concurrency.pause_after(result.seconds))
            else:
                if isinstance(exc, SinkUnreachable):
                    concurrency.outage()
                else:
                    concurrency.answered(result.seconds, now, pressure=isinstance(exc, SinkThrottled))
                bisect.insort(self._retry, batches, key=lambda b: b[0].id)
                if now >= self._resume_at:
                    # One backoff per failing moment: the other requests in flight then
                    # failing with it go back to the queue without lengthening the wait.
                    self._resume_at = now + self._failure(exc)
                else:
                    self._status.failures += 1
                    self._status.throttled += isinstance(exc, SinkThrottled)
            self._status.concurrency = concurrency.limit


@dataclass(frozen=True)
class _Result:
    """How a request ended: its time, and the error if it failed."""

    seconds: float
    error: SinkError | None
