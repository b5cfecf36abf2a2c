"""The running agent: builds drivers, buffer, pipeline, forwarder and sinks from a config,
runs them, and shuts them down in the order that loses nothing.

Shutdown order: stop polling, commit what is pending, let the sinks catch up for up to
``buffer.shutdown_grace``, then stop sending. A batch in flight when a sink is cancelled
stays unacknowledged and is sent again at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog

from drivers import Driver, Listener

from .buffer import AsyncBuffer, DiskBuffer
from .config import AgentConfig, LoadedConfig
from .forwarder import Forwarder
from .normalise import PointEncoder, identity_tags
from .pipeline import Pipeline
from .scheduler import DevicePoller
from .sinks import Sink
from .statedir import StateLock, open_buffer
from .status import AgentStatus, DeviceStatus, SinkStatus

log = structlog.get_logger("edge_agent")

BUFFER_FILE = "buffer.db"


def buffer_path(config: AgentConfig) -> Path:
    """Where the buffer database lives."""
    return config.agent.state_dir / BUFFER_FILE


def build_drivers(config: AgentConfig) -> list[tuple[str, Driver | Listener, float]]:
    """One driver (or listener) per configured device, with its protocol and poll interval."""
    return [(protocol, device.create(), config.interval_of(device))
            for protocol, device in config.devices.all()]


def build_encoders(config: AgentConfig) -> dict[str, PointEncoder]:
    """One line-protocol encoder per device, carrying the device's identity tags."""
    agent = config.agent
    encoders = {}
    for _, device in config.devices.all():
        tags = identity_tags(agent.school, agent.campus, device.name, device.tags)
        encoders[device.name] = PointEncoder(device.measurement or device.name, tags)
    return encoders


def build_sinks(config: AgentConfig) -> list[Sink]:
    """The configured sinks; none means readings stay in the local buffer."""
    return [sink.create() for sink in config.sinks.all()]


class Agent:
    """One agent process: poll, buffer, forward, until :meth:`stop`."""

    def __init__(self, loaded: LoadedConfig) -> None:
        self.config = loaded.config
        self.files = loaded.files
        self.status = AgentStatus()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask the agent to shut down cleanly."""
        self._stop.set()

    async def run(self) -> None:
        """Run until stopped; nothing accepted is lost on the way out."""
        config = self.config
        sinks = build_sinks(config)
        for sink in sinks:
            self.status.sinks[sink.name] = SinkStatus(sink.name, sink.url)
        path = buffer_path(config)
        lock = StateLock(config.agent.state_dir)
        lock.acquire()
        buffer = AsyncBuffer(lambda: open_buffer(lambda: DiskBuffer(
            path, [s.name for s in sinks], config.buffer.max_disk, config.buffer.sync
        ), path))
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
        forwarder = Forwarder(buffer, sinks, self.status)
        pipeline = Pipeline(
            buffer, build_encoders(config), self.status,
            config.buffer.flush_interval, config.buffer.batch_points, forwarder.notify,
        )
        forwarding = asyncio.create_task(forwarder.run(), name="forwarder")
        committing = asyncio.create_task(pipeline.run(), name="pipeline")
        polling = []
        for protocol, device, interval in build_drivers(config):
            status = DeviceStatus(device.name, protocol, interval)
            self.status.devices[device.name] = status
            if isinstance(device, Listener):
                work = device.run(pipeline.deliver)
            else:
                work = DevicePoller(device, interval, status, pipeline.accept).run()
            polling.append(asyncio.create_task(work, name=f"{protocol}:{device.name}"))
        log.info("agent started", school=config.agent.school, campus=config.agent.campus,
                 devices=len(polling), sinks=[s.name for s in sinks] or "none (local buffer only)",
                 buffer=str(buffer_path(config)))
        stopping = asyncio.create_task(self._stop.wait(), name="stop")
        try:
            await _until_stopped(stopping, forwarding, committing)
        finally:
            await _cancel(*polling, stopping)
            await _cancel(committing)
            await pipeline.flush()
            # Give the sinks a moment to send the rest; what they cannot stays buffered.
            if sinks and not forwarding.done() and not await forwarder.drained(config.buffer.shutdown_grace):
                log.info("stopping with data still buffered; it is sent at the next start")
            await _cancel(forwarding)


async def _until_stopped(stopping: asyncio.Task[object], *workers: asyncio.Task[object]) -> None:
    """Wait for the stop request; a worker that dies with an error stops the agent loudly.

    A worker may also end normally (the forwarder with no sink configured has nothing to do).
    """
    watched: set[asyncio.Task[object]] = {stopping, *workers}
    while not stopping.done():
        done, watched = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopping and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


async def _cancel(*tasks: asyncio.Task[object]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
