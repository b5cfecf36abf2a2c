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

from campus_core.clock import now_ms
from campus_core.devices import Connection, Deliver, DeviceConfig, Listener
from campus_core.readings import Reading, counters
from campus_core.reporting import policy as report_policy

from .assets import AssetRegister, ProbedDriver, ProbeStats, PushedWatch, watching
from .config import AgentConfig
from .normalise import PointEncoder, identity_tags
from .reporting import ChangeFilter
from .scheduler import DevicePoller
from .status import AgentStatus, DeviceStatus

log = structlog.get_logger("edge_agent.devicetasks")

#: Sensors behind one pushed device whose liveness is kept apart (a wildcard's rooms).
MAX_SENSORS = 1000


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
            rules = report_policy(*device.reporting())
            if isinstance(driver, Listener):
                changes = ChangeFilter(rules, polled=False) if rules is not None else None
                if isinstance(driver, Connection):
                    status.connected = _connected(driver)
                    status.stale_after_s = driver.stale_after
                work = driver.run(_listening(status, self._deliver, changes, driver))
                if self._register is not None:
                    watch = PushedWatch(driver, device, protocol, self._register)
                    work = watching(work, watch)
                    status.events = functools.partial(_events, stats, watch.stats)
            else:
                changes = ChangeFilter(rules) if rules is not None else None
                if self._register is not None:
                    driver = ProbedDriver(driver, device, protocol, self._register)
                    status.events = functools.partial(_events, stats, driver.stats)
                work = DevicePoller(driver, interval, status, self._accept, changes).run()
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


def _listening(
    status: DeviceStatus, deliver: Deliver, changes: ChangeFilter | None, listener: Listener
) -> Deliver:
    """A pushed device's deliver that also keeps its status, as a poll does for a polled one.

    Every sensor behind a wildcard (its own topic tags) is kept apart, so that one sensor
    gone quiet shows by itself. After a reconnect the first readings go out whole.
    """
    connections = listener.connections if isinstance(listener, Connection) else 0

    async def deliver_and_count(readings: list[Reading]) -> None:
        nonlocal connections
        if not readings:
            return
        arrived = now_ms()
        status.polls += len(readings)
        status.last_ok_ms = arrived
        status.last_data_ms = readings[-1].time_ms
        status.last_reading = readings[-1]
        status.consecutive_failures = 0
        # When each sensor was last heard from: arrival, not the payload's own timestamp
        # (a backlog the broker kept for us carries old ones, from a sensor alive now).
        sensors = status.sensors
        for reading in readings:
            if reading.tags in sensors or len(sensors) < MAX_SENSORS:
                sensors[reading.tags] = arrived
        if changes is not None:
            if isinstance(listener, Connection) and listener.connections != connections:
                connections = listener.connections
                changes.reset()
            readings = changes.apply(readings)
            status.fields_sent, status.fields_suppressed = changes.sent, changes.suppressed
        else:
            status.fields_sent += sum(len(r.names) for r in readings)
        # What was held back is acknowledged upstream too: it was read, and judged unmoved.
        if readings:
            await deliver(readings)

    return deliver_and_count


def _connected(listener: Connection) -> Callable[[], bool]:
    return lambda: listener.connected


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
