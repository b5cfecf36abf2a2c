"""A fault proxy in front of a real store: forwards writes, or answers with a scripted fault.

Real stores do not answer 429, 413 or 401 on demand, nor hang; this proxy does, and lets
every other request through to VictoriaMetrics, so what the store holds stays the truth.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from .ports import LOOPBACK, free_port
from .stubstore import Answer


@dataclass
class Decision:
    """What the proxy saw of a request: its number (from 0) and its points."""

    index: int
    points: int


class FaultProxy:
    """Runs on its own thread and event loop, so a test may block while the agent writes."""

    def __init__(self, upstream: str, decide: Callable[[Decision], Answer | None]) -> None:
        self.upstream = upstream
        self.decide = decide
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.answers: list[int] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fault-proxy")
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=256 * 2**20)
        app.router.add_post("/api/v2/write", self._write)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()

    async def _stop(self) -> None:
        assert self._runner is not None and self._session is not None
        await self._runner.cleanup()
        await self._session.close()

    async def _write(self, request: web.Request) -> web.Response:
        body = await request.read()  # inflated by aiohttp if it was gzip
        decision = Decision(len(self.answers), body.count(b"\n"))
        answer = self.decide(decision)
        if answer is not None:
            self.answers.append(answer.status)
            if answer.delay:
                await asyncio.sleep(answer.delay)
            return web.Response(status=answer.status, text=answer.body, headers=answer.headers)
        assert self._session is not None
        try:
            async with self._session.post(
                f"{self.upstream}/api/v2/write",
                params=request.query,
                data=body,
                timeout=aiohttp.ClientTimeout(total=30),
            ) as upstream:
                self.answers.append(upstream.status)
                return web.Response(status=upstream.status, body=await upstream.read())
        except (aiohttp.ClientError, TimeoutError):
            # The store behind is down (a test stopped it): say so the way a gateway would.
            self.answers.append(502)
            return web.Response(status=502, text="upstream store unreachable")
