"""The forwarder: drains the buffer into every sink, one :class:`~edge_agent.drain.SinkDrain` each.

One sink failing never holds another back: each has its own cursor in the buffer and its
own drain. The forwarder owns their task group, wakes them when new batches are
committed, and tells the shutdown whether they caught up.
"""

from __future__ import annotations

import asyncio

from campus_core.sinks import Sink

from .buffer import AsyncBuffer
from .drain import SinkDrain
from .status import AgentStatus


class Forwarder:
    """One drain per sink, run until cancelled."""

    def __init__(self, buffer: AsyncBuffer, sinks: list[Sink], status: AgentStatus) -> None:
        self._buffer = buffer
        self._drains = [SinkDrain(buffer, sink, status.sinks[sink.name]) for sink in sinks]

    def notify(self) -> None:
        """New batches were committed."""
        for drain in self._drains:
            drain.wake()

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
            for drain in self._drains:
                group.create_task(drain.run(), name=f"sink:{drain.name}")
