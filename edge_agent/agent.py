"""The running agent: builds drivers, buffer, pipeline, forwarder and sinks from a config,
runs them, applies a new config on SIGHUP or from the city, and shuts them down in the
order that loses nothing.

Shutdown order: stop polling, commit what is pending, let the sinks catch up for up to
``buffer.shutdown_grace``, then stop sending. A batch in flight when a sink is cancelled
stays unacknowledged and is sent again at the next start. The watchdog pings and the
health listener go on until the very end.

A new config (a SIGHUP, or a city bundle the puller offers) is applied by the agent's
own loop, one at a time: a bad one is refused with every problem in the log and the
running config stays. A good one is applied part by part (see :mod:`edge_agent.reload`):
only added, removed and changed devices are touched, the forwarder restarts only when a
sink changed, and the buffer (with everything in it and in the pipeline) is never closed,
so no reading is lost.
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from campus_core.devices import Driver, Listener
from campus_core.sinks import Sink

from . import logs
from .assets import AssetRegister, GatewayProbe
from .audit import AuditTrail
from .buffer import AsyncBuffer, DiskBuffer
from .bundle.pull import Offer, Puller
from .config import AgentConfig, ConfigError, LoadedConfig, load
from .devicetasks import DeviceTasks, encoder_for
from .forwarder import Forwarder
from .health import HealthServer
from .inforce import InForce
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
        self.in_force = InForce.of(loaded, config_path)
        self._notes = loaded.notes
        self._applied: Applied | None = None  # taken when the agent starts
        self.status = AgentStatus()
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._notifier = Notifier()

    @property
    def config(self) -> AgentConfig:
        """The config in force."""
        return self.in_force.config

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
        encoders: dict[str, PointEncoder] = {}  # shared by the pipeline, the devices and self-metrics
        sending = Sending(buffer, self.status)
        sending.start(sinks)
        pipeline = Pipeline(
            buffer,
            encoders,
            self.status,
            config.buffer.flush_interval,
            config.buffer.batch_points,
            sending.notify,
        )
        audit = AuditTrail(encoders, pipeline.accept)
        reporter = SelfMetrics(self.status, buffer, encoders, pipeline.accept, self.in_force)
        register = AssetRegister(
            config.agent.state_dir, encoders, pipeline.accept, lambda: self.config.agent.identity_interval
        )
        await register.load()
        parts = _Parts(
            sending,
            DeviceTasks(self.status, encoders, pipeline.accept, pipeline.deliver, register),
            HealthServer(self.status, self.in_force, reporter.refresh),
            Puller(self.status, self.in_force, audit),
            audit,
        )
        committing = asyncio.create_task(pipeline.run(), name="pipeline")
        reporting: list[asyncio.Task[None]] = []  # with the pollers: it writes points too
        alive: list[asyncio.Task[None]] = []
        try:
            parts.devices.start(config)
            reporting.append(asyncio.create_task(reporter.run(), name="self-metrics"))
            reporting.append(asyncio.create_task(register.run(), name="asset-register"))
            gateway = GatewayProbe(register, encoders, lambda: self.config)
            reporting.append(asyncio.create_task(gateway.run(), name="gateway-identity"))
            await parts.health.start(config.health.listen)
            alive.append(
                asyncio.create_task(
                    keep_alive(self._notifier, self.status.summary, watchdog_period()), name="watchdog"
                )
            )
            log.info(
                "agent started",
                school=config.agent.school,
                campus=config.agent.campus,
                devices=len(parts.devices),
                sinks=[s.name for s in sinks] or "none (local buffer only)",
                buffer=str(buffer_path(config)),
                health=parts.health.listen or "off",
                event_loop=type(asyncio.get_running_loop()).__module__.partition(".")[0],
            )
            for note in self._notes:
                log.warning(note)
            self.status.config_sha256 = audit.record(
                "start", config, self.in_force.files, bundle=self.in_force.bundle
            )
            reporting.append(asyncio.create_task(parts.puller.run(), name="fleet-bundle"))
            _settle_heap()
            self._notifier.ready(self.status.summary())
            await self._until_stopped(parts, committing)
        finally:
            self._notifier.stopping()
            await parts.devices.stop_all()
            await _cancel(*reporting)
            await _cancel(committing)
            await pipeline.flush()
            await sending.finish(self.config.buffer.shutdown_grace)
            await parts.health.stop()
            await _cancel(*alive)
            self._notifier.close()

    async def _until_stopped(self, parts: _Parts, committing: asyncio.Task[None]) -> None:
        """Apply reloads and the city's bundles one at a time, until asked to stop.

        A worker that dies with an error stops the agent loudly. A worker may also end
        normally (the forwarder with no sink configured has nothing to do). Workers already
        done are watched too: one that died while the agent was starting (before anything
        waited on it) must not be left unnoticed.
        """
        while True:
            workers = [task for task in (parts.sending.task, committing) if task is not None]
            request = await self._next_request(parts.puller, *workers)
            if request == "stop":
                return
            if isinstance(request, Offer):
                await self._apply_bundle(parts, request)
            else:
                await self._apply_reload(parts)

    async def _next_request(self, puller: Puller, *workers: asyncio.Task[None]) -> str | Offer:
        """ "stop", "reload", or a bundle the puller offers, whichever comes first."""
        stopping = asyncio.create_task(self._stop.wait(), name="stop")
        reloading = asyncio.create_task(self._reload.wait(), name="reload")
        offered = asyncio.create_task(puller.offer(), name="bundle-offer")
        watched: set[asyncio.Task[Any]] = {stopping, reloading, offered, *workers}
        try:
            while True:
                done, watched = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                if stopping in done:
                    return "stop"
                if offered in done:
                    # Before a reload that came at the same moment: a taken offer must be settled.
                    return offered.result()
                if reloading in done:
                    return "reload"
                for task in done:
                    if not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
        finally:
            await _cancel(stopping, reloading, offered)

    async def _apply_reload(self, parts: _Parts) -> None:
        """Load the config again; apply what changed, or refuse it and keep the running one."""
        self._reload.clear()
        self._notifier.reloading()
        path = self.in_force.path
        try:
            if path is None:
                raise ConfigError([])
            loaded = await asyncio.to_thread(load, path)
            change = await asyncio.to_thread(plan, self._require_applied(), loaded.config)
        except Exception as exc:
            # A bug in reading or comparing them must not take down a running agent either.
            self._refused(parts.audit, path, exc)
            return
        for note in loaded.notes:
            log.warning(note)
        await self._put_in_force(parts, loaded, change, "reload")
        self.status.reloads += 1
        parts.puller.in_force(loaded.bundle)
        parts.puller.reconsider()  # what the local files allow may have changed
        self._notifier.ready(self.status.summary())

    async def _apply_bundle(self, parts: _Parts, offer: Offer) -> None:
        """Put a city bundle the puller verified in force, as a SIGHUP would; tell the puller how it went."""
        self._notifier.reloading()
        try:
            change = await asyncio.to_thread(plan, self._require_applied(), offer.loaded.config)
        except Exception:
            log.exception("cannot apply the config", audit_event="bundle")
            await parts.puller.not_applied(offer)
            self._notifier.ready(self.status.summary())
            return
        await self._put_in_force(parts, offer.loaded, change, "bundle")
        await parts.puller.applied(offer)
        self._notifier.ready(self.status.summary())

    def _require_applied(self) -> Applied:
        assert self._applied is not None, "the agent applies configs only once it runs"
        return self._applied

    def _refused(self, audit: AuditTrail, path: Path | None, exc: Exception) -> None:
        """A new config that cannot be used: say why; the running config stays."""
        problems = [str(p) for p in exc.problems] if isinstance(exc, ConfigError) else [repr(exc)]
        problems = problems or ["no config file is known to read again"]
        self.status.reload_failures += 1
        self.status.last_reload_error = "; ".join(problems)
        log.error(
            "new config refused; the running config stays in force", config=str(path), problems=problems
        )
        audit.refused(path, problems)
        self._notifier.ready(self.status.summary())

    async def _put_in_force(
        self, parts: _Parts, loaded: LoadedConfig, change: ReloadPlan, event: str
    ) -> None:
        self._applied = change.applied
        self.in_force.take(loaded, change.effective)
        config = self.config
        if change.log_changed:
            logs.configure(config.log.level, config.log.format)
        await parts.devices.remove(change.removed + change.changed)
        parts.devices.start(config, change.added + change.changed)
        if change.sinks_changed:
            await parts.sending.restart(build_sinks(config))
        if change.listen_changed:
            await parts.health.stop()
            await parts.health.start(config.health.listen)
        _log_reload(self.in_force.path, change, loaded)
        self.status.config_sha256 = parts.audit.record(
            event, config, self.in_force.files, change.added, change.removed, change.changed, loaded.bundle
        )
        _settle_heap()


class Sending:
    """The forwarder in force and its task; replaced whole when the sink settings change."""

    def __init__(self, buffer: AsyncBuffer, status: AgentStatus) -> None:
        self._buffer = buffer
        self._status = status
        self._forwarder: Forwarder | None = None
        self._sinks: list[Sink] = []
        self.task: asyncio.Task[None] | None = None

    def start(self, sinks: list[Sink]) -> None:
        """Send with these sinks, each from its cursor in the buffer."""
        for sink in sinks:
            self._status.sinks.setdefault(sink.name, SinkStatus(sink.name, sink.url)).url = sink.url
        self._sinks = sinks
        self._forwarder = Forwarder(self._buffer, sinks, self._status)
        self.task = asyncio.create_task(self._forwarder.run(), name="forwarder")

    def notify(self) -> None:
        """New batches were committed: wake the sinks."""
        if self._forwarder is not None:
            self._forwarder.notify()

    async def restart(self, sinks: list[Sink]) -> None:
        """New sink settings: stop sending, then send again with the new sinks."""
        if self.task is not None:
            await _cancel(self.task)
        self.start(sinks)
        self.notify()

    async def finish(self, grace: float) -> None:
        """Give the sinks ``grace`` seconds to send the rest, then stop; what is left stays buffered."""
        task, forwarder = self.task, self._forwarder
        if task is None or forwarder is None:
            return
        if self._sinks and not task.done() and not await forwarder.drained(grace):
            log.info("stopping with data still buffered; it is sent at the next start")
        await _cancel(task)


@dataclass
class _Parts:
    """What applying a config touches, besides the config in force itself."""

    sending: Sending
    devices: DeviceTasks
    health: HealthServer
    puller: Puller
    audit: AuditTrail


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
