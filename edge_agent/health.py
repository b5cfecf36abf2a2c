"""The health listener: ``/metrics`` for Prometheus and ``/healthz`` for people and probes.

It runs on the agent's event loop (aiohttp.web), on ``[health] listen`` (127.0.0.1:9273 by
default). ``/healthz`` answers 200 with a JSON report, or 503 with the same report when a
sink has been failing for longer than ``health.sink_down_after`` or no polled device answers.
A listener that cannot bind (the port is taken) is logged and left out: polling and
buffering matter more than the view on them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from campus_core.clock import now_ms

from . import __version__
from .config import AgentConfig
from .config.model import split_listen
from .inforce import InForce
from .metrics import device_metrics, registry
from .status import AgentStatus

log = structlog.get_logger("edge_agent.health")

#: How long a request waits for a fresh buffer snapshot before it answers with the last one.
REFRESH_TIMEOUT = 5.0


def problems(status: AgentStatus, sink_down_after: float, now: int) -> list[str]:
    """Why the agent is unhealthy; empty when it is healthy."""
    found = []
    for sink in status.sinks.values():
        failing = sink.failing_for(now, status.started_ms)
        if failing >= sink_down_after:
            found.append(f"sink {sink.name} ({sink.url}) has failed for {failing:.0f}s: {sink.last_error}")
    polled = [d for d in status.devices.values() if d.polls]
    if polled and not any(d.up for d in polled):
        found.append(f"no device answers ({len(polled)} polled)")
    return found


def warnings(config: AgentConfig) -> list[str]:
    """What a security review would flag in the running config: TLS verification turned off."""
    entries: list[tuple[str, object]] = [(f"sink {s.name}", s) for s in config.sinks.all()]
    entries += [(f"device {d.name}", d) for _, d in config.devices.all()]
    return [
        f"{where}: TLS verification is off (insecure_skip_verify)"
        for where, entry in entries
        if getattr(entry, "insecure_skip_verify", False)
    ]


def fleet_report(status: AgentStatus) -> dict[str, Any]:
    """The city's bundles as ``/healthz`` and ``edge-agent fleet status`` show them."""
    bundle = status.bundle
    refusal = bundle.last_refusal
    return {
        "version": bundle.version,
        "sha256": bundle.sha256,
        "applied_ms": bundle.applied_ms,
        "checks": bundle.checks,
        "last_check_ms": bundle.last_check_ms,
        "fetch_failures": bundle.fetch_failures,
        "last_fetch_error": bundle.last_fetch_error,
        "refused_total": bundle.refused_total,
        "refused": dict(bundle.refused),
        "last_refusal": None
        if refusal is None
        else {
            "reason": refusal.reason,
            "message": refusal.message,
            "version": refusal.version,
            "sha256": refusal.sha256,
            "at_ms": refusal.at_ms,
        },
    }


def report(status: AgentStatus, config: AgentConfig, now: int) -> dict[str, Any]:
    """The JSON body of ``/healthz``: verdict, devices, sinks, buffer."""
    found = problems(status, config.health.sink_down_after, now)
    buffer = status.buffer
    backlog = {b.sink: b for b in buffer.backlog} if buffer else {}
    sinks = []
    for sink in status.sinks.values():
        waiting = backlog.get(sink.name)
        oldest = waiting.oldest_ms if waiting else None
        sinks.append(
            {
                "name": sink.name,
                "url": sink.url,
                "up": sink.consecutive_failures == 0,
                "failing_s": round(sink.failing_for(now, status.started_ms), 1),
                "sent_points": sink.sent_points,
                "failures": sink.failures,
                "dead_points": sink.dead_points,
                "last_error": sink.last_error,
                "backlog_points": waiting.points if waiting else None,
                "oldest_age_s": round((now - oldest) / 1000, 1) if oldest else None,
            }
        )
    return {
        "status": "unhealthy" if found else "ok",
        "problems": found,
        "warnings": warnings(config),
        "version": __version__,
        "school": config.agent.school,
        "campus": config.agent.campus,
        "uptime_s": round(status.uptime_s(now), 1),
        "reloads": status.reloads,
        "reload_failures": status.reload_failures,
        "last_reload_error": status.last_reload_error,
        "config_sha256": status.config_sha256,
        "fleet": None if config.fleet is None else fleet_report(status),
        "devices": [
            {
                "name": d.name,
                "protocol": d.protocol,
                "up": d.up,
                "polls": d.polls,
                "failures": d.failures,
                "consecutive_failures": d.consecutive_failures,
                "latency_s": round(d.last_latency_s, 4),
                "last_ok_ms": d.last_ok_ms,
                "last_error": d.last_error,
            }
            for d in status.devices.values()
        ],
        "sinks": sinks,
        "points": {
            "accepted": status.points_accepted,
            "buffered": status.points_buffered,
            "dropped": status.points_dropped,
        },
        "buffer": None
        if buffer is None
        else {
            "points": buffer.points,
            "bytes": buffer.bytes,
            "batches": buffer.batches,
            "dropped": sum(v for k, v in buffer.counters.items() if k.startswith("dropped:")),
        },
    }


class HealthServer:
    """``/metrics`` and ``/healthz`` on the agent's loop, served by aiohttp.web."""

    def __init__(
        self,
        status: AgentStatus,
        in_force: InForce,
        refresh: Callable[[], Awaitable[None]],
    ) -> None:
        self._status = status
        self._in_force = in_force  # read at each request: a reload may change the thresholds
        self._refresh = refresh
        self._registry = registry(status, in_force)
        self._runner: web.AppRunner | None = None
        self.listen = ""

    async def start(self, listen: str) -> bool:
        """Listen on ``host:port``; False (and an error in the log) when that is impossible."""
        if not listen:
            log.info("health listener off (health.listen is empty)")
            return False
        host, port = split_listen(listen)
        app = web.Application(middlewares=[_failures_logged])
        app.on_response_prepare.append(_server_name)
        app.router.add_get("/metrics", self._handle_metrics)  # and HEAD
        app.router.add_get("/healthz", self._handle_healthz)
        # No access log: a scrape every 15 s would bury the journal. Signals are the agent's.
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            log.error(
                "health listener cannot listen; /metrics and /healthz are unavailable, the agent "
                'goes on without them (set health.listen to a free address, or "" to turn it off)',
                listen=listen,
                error=str(exc),
            )
            return False
        self._runner = runner
        self.listen = listen
        log.info("health listener up", listen=listen, endpoints=["/metrics", "/healthz"])
        return True

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self.listen = ""

    async def _fresh(self) -> None:
        try:
            async with asyncio.timeout(REFRESH_TIMEOUT):
                await self._refresh()
        except TimeoutError:
            pass  # the buffer's worker is busy (a long commit): answer with the last snapshot

    async def _handle_metrics(self, request: web.Request) -> web.StreamResponse:
        await self._fresh()
        response = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE_LATEST})
        await response.prepare(request)
        if request.method != "HEAD":
            # Streamed a family at a time: a thousand devices' text is never held whole.
            await response.write(generate_latest(self._registry))
            for family in device_metrics(self._status):
                await response.write(family.encode())
        await response.write_eof()
        return response

    async def _handle_healthz(self, request: web.Request) -> web.Response:
        await self._fresh()
        body = report(self._status, self._in_force.config, now_ms())
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)


async def _server_name(request: web.Request, response: web.StreamResponse) -> None:
    # Set as each answer is prepared, streamed ones included.
    response.headers["Server"] = f"edge-agent/{__version__}"


@web.middleware
async def _failures_logged(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A failing handler is a bug to see in the agent's own log; the client gets a plain 500."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        log.error(
            "health listener: answering a request failed", path=request.path, error=repr(exc), exc_info=exc
        )
        raise web.HTTPInternalServerError(text="internal error; see the agent's log\n") from None
