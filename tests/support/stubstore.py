"""A scripted HTTP store, only for answers a real store will not give on demand.

429 with Retry-After, 413, 401, 400 and a hang are injected here; everything a real
store does (accepting line protocol, gzip) is tested against VictoriaMetrics.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from .ports import LOOPBACK, free_port


@dataclass
class Answer:
    """What the stub answers to one request."""

    status: int = 204
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    """One request the stub received."""

    at: float
    lines: list[str]
    status: int
    authorization: str | None = None


class StubStore:
    """``/api/v2/write`` that answers from a script, then 204 for everything after it."""

    def __init__(
        self, script: list[Answer] | None = None, decide: Callable[[list[str]], Answer | None] | None = None
    ) -> None:
        self.script = list(script or [])
        self.decide = decide
        self.received: list[Received] = []
        self.in_flight = 0
        self.most_in_flight = 0  # the most requests it was answering at once
        #: Called with each request's headers and its query string (as "query"), to look at them.
        self.on_headers: Callable[[dict[str, str]], None] | None = None
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> StubStore:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/api/v2/write", self._write)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def accepted(self) -> list[str]:
        """Every line of every request answered 2xx."""
        return [line for r in self.received if 200 <= r.status < 300 for line in r.lines]

    async def _write(self, request: web.Request) -> web.Response:
        if self.on_headers is not None:
            self.on_headers({**request.headers, "query": request.query_string})
        raw = await request.read()
        if raw[:2] == b"\x1f\x8b":  # aiohttp may or may not have inflated it already
            raw = gzip.decompress(raw)
        lines = raw.decode("utf-8").splitlines()
        answer = (self.decide(lines) if self.decide else None) or (
            self.script.pop(0) if self.script else Answer()
        )
        self.received.append(
            Received(time.monotonic(), lines, answer.status, request.headers.get("Authorization"))
        )
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if answer.delay:
                await asyncio.sleep(answer.delay)
        finally:
            self.in_flight -= 1
        return web.Response(status=answer.status, text=answer.body, headers=answer.headers)
