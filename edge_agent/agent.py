"""The running agent: builds drivers, buffer, pipeline, forwarder and sinks from a config,
runs them, applies a new config on SIGHUP, and shuts them down in the order that loses nothing.

Shutdown order: stop polling, commit what is pending, let the sinks catch up for up to
``buffer.shutdown_grace``, then stop sending. A batch in flight when a sink is cancelled
stays unacknowledged and is sent again at the next start. The watchdog pings and the
health listener go on until the very end.

Reload (SIGHUP): the new config is loaded and validated first; a bad one is refused with
every problem in the log and the running config stays. A good one is applied part by part
(see :mod:`edge_agent.reload`): only added, removed and changed devices are touched, the
forwarder restarts only when a sink changed, and the buffer (with everything in it and in
the pipeline) is never closed, so no reading is lost.
"""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from campus_core.devices import Driver, Listener
from campus_core.sinks import Sink

from . import logs
from .audit import AuditTrail
from .buffer import AsyncBuffer, DiskBuffer
from .bundle.pull import Puller
from .config import AgentConfig, ConfigError, LoadedConfig, load
from .fleet import Fleet, encoder_for
from .forwarder import Forwarder
from .health import HealthServer
from .normalise import PointEncoder
from .pipeline import Pipeline
from .reload import Applied, ReloadPlan, plan
from .selfmetrics import SelfMetrics
from .statedir import StateLock, buffer_path, open_buffer
from .status import AgentStatus, SinkStatus
from .systemd import Notifier, keep_alive, watchdog_period

log = structlog.get_logger("edge_agent")


def build_drivers(config: AgentConfig) -> list[tuple[str, Driver | Listener, float]]:
    """One driver (or listener) per configured device, with its protocol and poll interval."""
    return [
        (protocol, device.create(), config.interval_of(device)) for protocol, device in config.devices.all()
    ]


def build_encoders(config: AgentConfig) -> dict[str, PointEncoder]:
    """One line-protocol encoder per device, carrying the device's identity tags."""
    return {device.name: encoder_for(config, device) for _, device in config.devices.all()}


def build_sinks(config: AgentConfig) -> list[Sink]:
    """The configured sinks; none means readings stay in the local buffer."""
    return [sink.create() for sink in config.sinks.all()]


class Agent:
    """One agent process: poll, buffer, forward, until :meth:`stop`."""

    def __init__(self, loaded: LoadedConfig, config_path: Path | None = None) -> None:
        self.config = loaded.config
        self.files = loaded.files
        self.bundle = loaded.bundle  # the city's part of the config in force
        self._notes = loaded.notes
        #: A SIGHUP and a city bundle are applied one at a time.
        self._applying = asyncio.Lock()
        self._applied: Applied | None = None  # taken when the agent starts
        #: What a reload reads: the main config file (conf.d/ beside it comes along).
        self.config_path = config_path or next(iter(loaded.files), None)
        self.status = AgentStatus()
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._notifier = Notifier()

    def stop(self) -> None:
        """Ask the agent to shut down cleanly."""
        self._stop.set()

    def reload(self) -> None:
        """Ask the agent to read its config again and apply what changed (SIGHUP)."""
        self._reload.set()

    async def run(self) -> None:
        """Run until stopped; nothing accepted is lost on the way out."""
        config = self.config
        sinks = build_sinks(config)
        for sink in sinks:
            self.status.sinks[sink.name] = SinkStatus(sink.name, sink.url)
        path = buffer_path(config)
        lock = StateLock(config.agent.state_dir)
        lock.acquire()
        buffer = AsyncBuffer(
            lambda: open_buffer(
                lambda: DiskBuffer(path, [s.name for s in sinks], config.buffer.max_disk, config.buffer.sync),
                path,
            )
        )
        try:
            disk = await buffer.open()
            if disk.removed_sinks:
                log.warning("sinks no longer configured; their cursors removed", sinks=disk.removed_sinks)
            if not disk.was_clean:
                log.info("buffer checked after an unclean stop: intact", buffer=str(path))
            try:
                await self._serve(buffer, sinks)
            finally:
                await buffer.close()
                log.info("agent stopped", buffer=str(path))
        finally:
            lock.release()

    async def _serve(self, buffer: AsyncBuffer, sinks: list[Sink]) -> None:
        config = self.config
        self._applied = await asyncio.to_thread(Applied.of, config)
        encoders: dict[str, PointEncoder] = {}  # shared by the pipeline, the fleet and self-metrics
        run = _Running(buffer, sinks, Forwarder(buffer, sinks, self.status))
        pipeline = Pipeline(
            buffer,
            encoders,
            self.status,
            config.buffer.flush_interval,
            config.buffer.batch_points,
            lambda: run.forwarder.notify(),
        )
        fleet = Fleet(self.status, encoders, pipeline.accept, pipeline.deliver)
        self._audit = AuditTrail(encoders, pipeline.accept)
        reporter = SelfMetrics(self.status, buffer, encoders, pipeline.accept, lambda: self.config)
        health = HealthServer(self.status, lambda: self.config, reporter.refresh)
        self._puller = Puller(
            self.status,
            lambda: self.config,
            self.config_path,
            functools.partial(self._apply, run, fleet, health),
            self._audit,
        )
        run.forwarding = asyncio.create_task(run.forwarder.run(), name="forwarder")
        committing = asyncio.create_task(pipeline.run(), name="pipeline")
        reporting: list[asyncio.Task[None]] = []  # with the pollers: it writes points too
        alive: list[asyncio.Task[None]] = []
        try:
            fleet.start(config)
            reporting.append(asyncio.create_task(reporter.run(), name="self-metrics"))
            await health.start(config.health.listen)
            alive.append(
                asyncio.create_task(
                    keep_alive(self._notifier, self.status.summary, watchdog_period()), name="watchdog"
                )
            )
            log.info(
                "agent started",
                school=config.agent.school,
                campus=config.agent.campus,
                devices=len(fleet),
                sinks=[s.name for s in sinks] or "none (local buffer only)",
                buffer=str(buffer_path(config)),
                health=health.listen or "off",
                event_loop=type(asyncio.get_running_loop()).__module__.partition(".")[0],
            )
            for note in self._notes:
                log.warning(note)
            self.status.config_sha256 = self._audit.record("start", config, self.files, bundle=self.bundle)
            reporting.append(asyncio.create_task(self._puller.run(self.bundle), name="fleet-bundle"))
            _settle_heap()
            self._notifier.ready(self.status.summary())
            while await self._next_request(run.forwarding, committing) == "reload":
                await self._apply_reload(run, fleet, health)
        finally:
            self._notifier.stopping()
            await fleet.stop_all()
            await _cancel(*reporting)
            await _cancel(committing)
            await pipeline.flush()
            # Give the sinks a moment to send the rest; what they cannot stays buffered.
            grace = self.config.buffer.shutdown_grace
            if run.sinks and not run.forwarding.done() and not await run.forwarder.drained(grace):
                log.info("stopping with data still buffered; it is sent at the next start")
            await _cancel(run.forwarding)
            await health.stop()
            await _cancel(*alive)
            self._notifier.close()

    async def _next_request(self, *workers: asyncio.Task[None]) -> str:
        """Wait for "stop" or "reload"; a worker that dies with an error stops the agent loudly.

        A worker may also end normally (the forwarder with no sink configured has nothing to do).
        Workers already done are watched too: one that died while the agent was starting (before
        anything waited on it) must not be left unnoticed.
        """
        stopping = asyncio.create_task(self._stop.wait(), name="stop")
        reloading = asyncio.create_task(self._reload.wait(), name="reload")
        watched: set[asyncio.Task[Any]] = {stopping, reloading, *workers}
        try:
            while True:
                done, watched = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                if stopping in done:
                    return "stop"
                if reloading in done:
                    return "reload"
                for task in done:
                    if not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
        finally:
            await _cancel(stopping, reloading)

    async def _apply_reload(self, run: _Running, fleet: Fleet, health: HealthServer) -> None:
        """Load the config again; apply what changed, or refuse it and keep the running one."""
        self._reload.clear()
        self._notifier.reloading()
        path = self.config_path
        try:
            if path is None:
                raise ConfigError([])
            loaded = await asyncio.to_thread(load, path)
        except Exception as exc:
            self._refused(path, exc)
            return
        for note in loaded.notes:
            log.warning(note)
        if await self._apply(run, fleet, health, loaded, "reload"):
            self._puller.reconsider()  # what the local files allow may have changed

    def _refused(self, path: Path | None, exc: Exception) -> None:
        """A new config that cannot be used: say why; the running config stays."""
        # A bug in reading it must not take down a running agent either.
        problems = [str(p) for p in exc.problems] if isinstance(exc, ConfigError) else [repr(exc)]
        problems = problems or ["no config file is known to read again"]
        self.status.reload_failures += 1
        self.status.last_reload_error = "; ".join(problems)
        log.error(
            "new config refused; the running config stays in force", config=str(path), problems=problems
        )
        self._audit.refused(path, problems)
        self._notifier.ready(self.status.summary())

    async def _apply(
        self,
        run: _Running,
        fleet: Fleet,
        health: HealthServer,
        loaded: LoadedConfig,
        event: str,
        commit: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        """Apply a loaded config (SIGHUP, or a city bundle): only what changed restarts.

        ``commit`` runs once the config is in force, before another one can be applied.
        """
        async with self._applying:
            if event != "reload":
                self._notifier.reloading()
            try:
                assert self._applied is not None
                change = await asyncio.to_thread(plan, self._applied, loaded.config)
            except Exception as exc:
                # A bug in comparing them must not take down a running agent either.
                if event == "reload":
                    self._refused(self.config_path, exc)
                else:
                    log.exception("cannot apply the config", audit_event=event)
                    self._notifier.ready(self.status.summary())
                return False
            await self._put_in_force(run, fleet, health, loaded, change, event)
            if commit is not None:
                await commit()
            elif event == "reload":
                self._puller.in_force(loaded.bundle)
            self._notifier.ready(self.status.summary())
            return True

    async def _put_in_force(
        self,
        run: _Running,
        fleet: Fleet,
        health: HealthServer,
        loaded: LoadedConfig,
        change: ReloadPlan,
        event: str,
    ) -> None:
        path = self.config_path
        self._applied, self.files, self.bundle = change.applied, loaded.files, loaded.bundle
        self.config = change.effective
        if change.log_changed:
            logs.configure(self.config.log.level, self.config.log.format)
        await fleet.remove(change.removed + change.changed)
        fleet.start(self.config, change.added + change.changed)
        if change.sinks_changed:
            await self._restart_forwarder(run)
        if change.listen_changed:
            await health.stop()
            await health.start(self.config.health.listen)
        if event == "reload":
            self.status.reloads += 1
        _log_reload(path, change, loaded)
        self.status.config_sha256 = self._audit.record(
            event, self.config, self.files, change.added, change.removed, change.changed, loaded.bundle
        )
        _settle_heap()

    async def _restart_forwarder(self, run: _Running) -> None:
        """New sink settings: stop sending, then send again with the new sinks, from their cursors."""
        await _cancel(run.forwarding)
        run.sinks = build_sinks(self.config)
        for sink in run.sinks:
            current = self.status.sinks.setdefault(sink.name, SinkStatus(sink.name, sink.url))
            current.url = sink.url
        run.forwarder = Forwarder(run.buffer, run.sinks, self.status)
        run.forwarding = asyncio.create_task(run.forwarder.run(), name="forwarder")
        run.forwarder.notify()


@dataclass
class _Running:
    """The parts a reload may replace while the agent runs."""

    buffer: AsyncBuffer
    sinks: list[Sink]
    forwarder: Forwarder
    forwarding: asyncio.Task[None] = field(init=False)


def _log_reload(path: Path | None, change: ReloadPlan, loaded: LoadedConfig) -> None:
    bundle = loaded.bundle
    log.info(
        "config reloaded",
        config=str(path),
        added=change.added,
        removed=change.removed,
        changed=change.changed,
        unchanged=len(change.unchanged),
        sinks="restarted" if change.sinks_changed else "unchanged",
        bundle_version=bundle.manifest.version if bundle else None,
    )
    if change.needs_restart:
        log.warning(
            "some changes take effect only at the next restart (systemctl restart edge-agent); "
            "the running values stay until then",
            keys=change.needs_restart,
        )


def _settle_heap() -> None:
    """Take what lives as long as the config (modules, models, drivers) out of the cyclic GC.

    Every full collection walked those ~200,000 objects again to find nothing: on the
    campus benchmark that was two thirds of the time the collector took, about 0.4 % of a
    core. Frozen objects are still freed by reference counting; a reload unfreezes and
    collects first, so cycles of the old config do not stay.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


async def _cancel(*tasks: asyncio.Task[Any]) -> None:
    """Cancel the tasks and wait until they have ended.

    What a task ended with is not raised here: a worker that died was reported by
    ``_next_request`` already, and the shutdown that follows must still stop the rest and
    close the buffer. An error raised while being cancelled is logged.
    """
    running = [task for task in tasks if not task.done()]
    for task in running:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for task, result in zip(tasks, results, strict=True):
        if task in running and isinstance(result, Exception):
            log.error("task failed while stopping", task=task.get_name(), error=repr(result))
