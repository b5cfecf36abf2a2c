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

from drivers import Driver
from drivers.modbus import ModbusDriver

from .buffer import AsyncBuffer, DiskBuffer
from .config import AgentConfig, LoadedConfig
from .forwarder import Forwarder
from .normalise import PointEncoder, identity_tags
from .pipeline import Pipeline
from .scheduler import DevicePoller
from .sinks import Sink
from .sinks.influxdb import InfluxDBSink
from .status import AgentStatus, DeviceStatus, SinkStatus

log = structlog.get_logger("edge_agent")

BUFFER_FILE = "buffer.db"


def buffer_path(config: AgentConfig) -> Path:
    """Where the buffer database lives."""
    return config.agent.state_dir / BUFFER_FILE


def build_drivers(config: AgentConfig) -> list[tuple[Driver, float]]:
    """One driver per configured device, with its poll interval."""
    return [(ModbusDriver(device), config.interval_of(device)) for device in config.devices.modbus]


def build_encoders(config: AgentConfig) -> dict[str, PointEncoder]:
    """One line-protocol encoder per device, carrying the device's identity tags."""
    agent = config.agent
    encoders = {}
    for device in config.devices.modbus:
        assert device.measurement is not None
        tags = identity_tags(agent.school, agent.campus, device.name, device.tags)
        encoders[device.name] = PointEncoder(device.measurement, tags)
    return encoders


def build_sinks(config: AgentConfig) -> list[Sink]:
    """The configured sinks; none means readings stay in the local buffer."""
    return [InfluxDBSink(sink) for sink in config.sinks.influxdb]


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
        for sink in config.sinks.influxdb:
            assert sink.name is not None
            self.status.sinks[sink.name] = SinkStatus(sink.name, sink.url)
        path = buffer_path(config)
        buffer = AsyncBuffer(lambda: DiskBuffer(
            path, [s.name for s in sinks], config.buffer.max_disk, config.buffer.sync
        ))
        disk = await buffer.open()
        if disk.removed_sinks:
            log.warning("sinks no longer configured; their cursors removed", sinks=disk.removed_sinks)
        try:
            await self._serve(buffer, sinks)
        finally:
            await buffer.close()
            log.info("agent stopped", buffer=str(path))

    async def _serve(self, buffer: AsyncBuffer, sinks: list[Sink]) -> None:
        config = self.config
        forwarder = Forwarder(buffer, sinks, self.status)
        pipeline = Pipeline(
            buffer, build_encoders(config), self.status,
            config.buffer.flush_interval, config.buffer.batch_points, forwarder.notify,
        )
        pollers = []
        for driver, interval in build_drivers(config):
            status = DeviceStatus(driver.name, "modbus", interval)
            self.status.devices[driver.name] = status
            pollers.append(DevicePoller(driver, interval, status, pipeline.accept))

        forwarding = asyncio.create_task(forwarder.run(), name="forwarder")
        committing = asyncio.create_task(pipeline.run(), name="pipeline")
        polling = [asyncio.create_task(p.run(), name=f"poll:{d.name}")
                   for p, d in zip(pollers, self.status.devices.values(), strict=True)]
        log.info("agent started", school=config.agent.school, campus=config.agent.campus,
                 devices=len(pollers), sinks=[s.name for s in sinks] or "none (local buffer only)",
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
