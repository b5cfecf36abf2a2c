"""mode = "subscribe": changes at their source timestamps; a lost session is subscribed again."""

from __future__ import annotations

import asyncio

import pytest

from campus_core.clock import now_ms
from campus_core.readings import DeviceError
from drivers.opcua import OpcuaDriver
from simulators.opcua import UPDATE_S, OpcuaMachine

from .machines import cnc, port


def subscribed(url: str) -> OpcuaDriver:
    return OpcuaDriver(cnc("cnc-1", url, mode="subscribe", publishing_interval=0.1))


async def test_changes_arrive_at_their_source_timestamps_with_the_last_tags() -> None:
    async with OpcuaMachine("cnc-1", "cnc", port()) as machine:
        driver = subscribed(machine.url)
        async with driver:
            (current,) = await driver.poll()  # the values read once, then the subscription
            assert len(current.fields) == 8 and driver.stats.subscriptions == 1
            before = now_ms()
            for rpm in (1200.0, 1500.0):
                machine.overrides["spindle_rpm"] = rpm
                await asyncio.sleep(5 * UPDATE_S)
            reads = len(machine.reads)
            changes = await driver.poll()
        # Every point is stamped by the server, one per source timestamp, with the program tag.
        rpms = [dict(r.fields)["spindle_rpm"] for r in changes if "spindle_rpm" in dict(r.fields)]
        assert rpms == [1200.0, 1500.0]
        assert all(r.time_ms >= before for r in changes)
        stamps = [r.time_ms for r in changes]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert all(dict(r.tags).get("program") for r in changes)
        assert machine.reads[reads:] == [1]  # one poll: only the small liveness Read
        assert driver.stats.notifications >= len(changes)


async def test_a_lost_session_is_subscribed_again_and_the_current_values_read_once() -> None:
    machine = OpcuaMachine("cnc-1", "cnc", port())
    await machine.start()
    driver = subscribed(machine.url)
    try:
        async with driver:
            await driver.poll()
            await machine.stop()
            with pytest.raises(DeviceError):
                await driver.poll()
            machine.overrides["alarm_code"] = 2010  # changed while the agent was away
            await machine.start()
            (current,) = await driver.poll()
            # Nothing silently skipped: the values as they are now, then the changes again.
            assert len(current.fields) == 8 and dict(current.fields)["alarm_code"] == 2010.0
            assert driver.stats.subscriptions == 2 and driver.stats.connects == 2
            machine.overrides["alarm_code"] = 3005
            await asyncio.sleep(5 * UPDATE_S)
            assert [dict(r.fields).get("alarm_code") for r in await driver.poll()] == [3005.0]
    finally:
        await machine.stop()


async def test_a_bad_node_in_a_notification_is_left_out() -> None:
    async with OpcuaMachine("cnc-1", "cnc", port()) as machine:
        driver = subscribed(machine.url)
        async with driver:
            await driver.poll()
            machine.set_bad("run_time_h")
            machine.overrides["spindle_rpm"] = 900.0
            await asyncio.sleep(5 * UPDATE_S)
            changes = await driver.poll()
        assert changes and all("run_time_h" not in dict(r.fields) for r in changes)
        assert driver.stats.bad == 1
