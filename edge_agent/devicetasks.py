"""The devices at work: one task per device, a poller or a listener for pushed readings.

Tasks are kept by device name, so that a reload stops, starts or replaces single devices
while the others go on polling with their connections, schedules and counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Collection, Iterable

import structlog

from campus_core.devices import Deliver, DeviceConfig, Listener
from campus_core.readings import Reading, counters

from .assets import AssetRegister, ProbedDriver, ProbeStats, PushedWatch, watching
from .config import AgentConfig
from .normalise import PointEncoder, identity_tags
from .scheduler import DevicePoller
from .status import AgentStatus, DeviceStatus

log = structlog.get_logger("edge_agent.devicetasks")


def encoder_for(config: AgentConfig, device: DeviceConfig) -> PointEncoder:
    """The line-protocol encoder of one device, carrying its identity tags."""
    agent = config.agent
    tags = identity_tags(agent.school, agent.campus, device.name, device.tags)
    return PointEncoder(device.measurement or device.name, tags)


class DeviceTasks:
    """Starts and stops the device tasks; shares ``encoders`` with the pipeline.

    The pipeline looks a reading's encoder up by device name at every poll, so adding an
    encoder here before a device starts, and removing it only after its task has ended,
    means no reading ever meets a missing or stale encoder.
    """

    def __init__(
        self,
        status: AgentStatus,
        encoders: dict[str, PointEncoder],
        accept: Callable[[list[Reading]], None],
        deliver: Deliver,
        register: AssetRegister | None = None,
    ) -> None:
        self._status = status
        self._encoders = encoders
        self._accept = accept
        self._deliver = deliver
        self._register = register
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, config: AgentConfig, names: Collection[str] | None = None) -> None:
        """Start every configured device, or only those ``names``."""
        for protocol, device in config.devices.all():
            if names is not None and device.name not in names:
                continue
            interval = config.interval_of(device)
            self._encoders[device.name] = encoder_for(config, device)
            status = DeviceStatus(device.name, protocol, interval)
            self._status.devices[device.name] = status
            driver = device.create()
            stats: object = getattr(driver, "stats", None)
            if stats is not None:
                status.events = functools.partial(counters, stats)
            if isinstance(driver, Listener):
                work = driver.run(_listening(status, self._deliver))
                if self._register is not None:
                    watch = PushedWatch(driver, device, protocol, self._register)
                    work = watching(work, watch)
                    status.events = functools.partial(_events, stats, watch.stats)
            else:
                if self._register is not None:
                    driver = ProbedDriver(driver, device, protocol, self._register)
                    status.events = functools.partial(_events, stats, driver.stats)
                work = DevicePoller(driver, interval, status, self._accept).run()
            task = asyncio.create_task(work, name=f"{protocol}:{device.name}")
            task.add_done_callback(_report_crash)
            self._tasks[device.name] = task

    async def remove(self, names: Iterable[str]) -> None:
        """Stop these devices and forget them (their encoders and counters too)."""
        names = list(names)
        await _cancel([self._tasks.pop(name) for name in names if name in self._tasks])
        for name in names:
            self._encoders.pop(name, None)
            self._status.devices.pop(name, None)

    async def stop_all(self) -> None:
        """Stop every device; their counters stay for whoever reads the status afterwards."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        await _cancel(tasks)


def _events(stats: object, probes: ProbeStats) -> dict[str, int]:
    """The driver's counters and what its identity probe has to say, for /metrics."""
    found = counters(stats)
    found.update(probes.shown())
    return found


def _listening(status: DeviceStatus, deliver: Deliver) -> Deliver:
    """A pushed device's deliver that also keeps its status, as a poll does for a polled one."""

    async def deliver_and_count(readings: list[Reading]) -> None:
        await deliver(readings)
        if readings:
            status.polls += len(readings)
            status.last_ok_ms = readings[-1].time_ms
            status.last_reading = readings[-1]
            status.consecutive_failures = 0

    return deliver_and_count


def _report_crash(task: asyncio.Task[None]) -> None:
    # A poller handles device errors itself; anything reaching here is a bug to see in the log.
    if not task.cancelled() and task.exception() is not None:
        log.error(
            "device task ended with an error; the device is no longer polled until a "
            "restart or reload changes it",
            task=task.get_name(),
            error=repr(task.exception()),
        )


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        # A task that had crashed was reported by _report_crash already.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
