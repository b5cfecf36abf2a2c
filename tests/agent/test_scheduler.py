"""The scheduler's policy: interval, no overlap, overruns counted, backoff while failing.

These drive :class:`DevicePoller` with a scripted driver, because the policy is about time
and a real device cannot be told to be slow on cue; the protocol side runs against the
simulators in the integration tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

import pytest

from campus_core.readings import DeviceError, Reading
from edge_agent.scheduler import JITTER, SLOT, DevicePoller, first_poll_at
from edge_agent.status import DeviceStatus


class ScriptedDriver:
    """Answers each poll after ``delays[i]`` seconds, fails where the script says None, and raises
    where it holds an exception (a driver bug)."""

    def __init__(self, script: list[float | Exception | None]) -> None:
        self.script = script
        self.active = 0
        self.max_active = 0
        self.calls = 0

    @property
    def name(self) -> str:
        return "scripted"

    async def __aenter__(self) -> ScriptedDriver:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def poll(self) -> list[Reading]:
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if step is None:
                raise DeviceError("scripted", "no answer")
            if isinstance(step, Exception):
                raise step
            await asyncio.sleep(step)
            return [Reading.of("scripted", 0, (("v", 1.0),))]
        finally:
            self.active -= 1


async def run_for(driver: ScriptedDriver, interval: float, seconds: float) -> tuple[DeviceStatus, int]:
    status = DeviceStatus("scripted", "test", interval)
    received: list[Reading] = []
    poller = DevicePoller(driver, interval, status, received.extend)
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return status, len(received)


async def test_polls_at_the_interval() -> None:
    # 200 ms rather than less: on a shared machine a loop stalled for one interval would count
    # an overrun, and that is the machine, not the scheduler.
    status, received = await run_for(ScriptedDriver([0.0]), 0.2, 2.0)
    assert 6 <= received <= 11
    assert status.overruns == 0


async def test_a_slow_poll_never_overlaps_and_counts_as_an_overrun() -> None:
    driver = ScriptedDriver([0.35, 0.0])
    status, _ = await run_for(driver, 0.1, 1.0)
    assert driver.max_active == 1
    assert status.overruns >= 2


async def test_a_failing_device_backs_off_and_recovers() -> None:
    driver = ScriptedDriver([None, None, None, 0.0])
    status, received = await run_for(driver, 0.05, 1.0)
    # Waits of 0.05, 0.1 and 0.2 s after the failures rather than one every 0.05 s.
    assert status.failures == 3
    assert received > 0
    assert status.consecutive_failures == 0
    assert status.up


async def test_a_driver_bug_costs_a_poll_not_the_device(capsys: pytest.CaptureFixture[str]) -> None:
    driver = ScriptedDriver([0.0, KeyError("unit-id"), KeyError("unit-id"), 0.0])
    status, received = await run_for(driver, 0.05, 1.0)
    assert status.failures == status.internal_errors == 2
    assert received > 1 and status.up  # polled again after the bug, and answering
    out = capsys.readouterr().out
    assert "driver failed unexpectedly; the device is polled again" in out
    assert "Traceback" in out and "KeyError: 'unit-id'" in out  # once, with what to report


def test_first_polls_fall_on_a_grid_within_the_first_tenth_of_the_interval() -> None:
    # 2,000 devices started within a millisecond of each other, at 10 s.
    starts = [first_poll_at(1000.0 + i * 0.0000005, 10.0) for i in range(2000)]
    assert all(1000.0 <= at <= 1000.0 + 10.0 * JITTER + 2 * SLOT for at in starts)
    assert all(abs(at / SLOT - round(at / SLOT)) < 1e-6 for at in starts)
    # Devices share slots: the event loop wakes once for each slot, not once for each device.
    assert len({round(at / SLOT) for at in starts}) <= 10.0 * JITTER / SLOT + 2
