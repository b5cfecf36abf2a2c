"""COV mode: values come from change-of-value notifications, subscriptions are renewed and restored."""

from __future__ import annotations

import asyncio

import pytest

from campus_core.readings import DeviceError
from drivers.bacnet import BacnetDriver

from .plant import agent_port, entry, objects, sim


async def test_cov_reads_once_then_hands_over_what_the_device_notified() -> None:
    async with sim() as ahu:
        driver = BacnetDriver(entry(ahu, agent_port(), mode="cov", objects=objects(ahu)[:4]))
        async with driver:
            (first,) = await driver.poll()
            assert ahu.services["SubscribeCOVRequest"] == 4 and driver.stats.cov_subscriptions == 4
            assert ahu.cov_subscriptions == 4
            ahu.overrides["outside_air_temp_c"] = 31.5
            await asyncio.sleep(1.5)  # the simulator's next update notifies the change
            rpm = ahu.services["ReadPropertyMultipleRequest"]
            changes = await driver.poll()
        assert len(first.fields) == 4
        notified = [dict(r.fields) for r in changes if "outside_air_temp_c" in dict(r.fields)]
        assert notified and notified[-1]["outside_air_temp_c"] == pytest.approx(31.5, abs=0.01)
        # A notified poll reads nothing of the objects: one small read proves the device alive.
        assert ahu.services["ReadPropertyMultipleRequest"] == rpm + 1
        assert driver.stats.cov_notifications >= 1
        assert ahu.cov_subscriptions == 0  # a clean stop cancels them rather than let them run out


async def test_cov_subscriptions_are_renewed_at_half_their_lifetime() -> None:
    async with sim() as ahu:
        driver = BacnetDriver(
            entry(ahu, agent_port(), mode="cov", cov_lifetime=10.0, objects=objects(ahu)[:2])
        )
        async with driver:
            await driver.poll()
            await asyncio.sleep(5.6)
            assert ahu.services["SubscribeCOVRequest"] == 4  # two objects, subscribed and renewed once
            await driver.poll()
        assert driver.stats.cov_renewals == 1


async def test_after_a_restart_the_device_is_subscribed_again_and_read_once() -> None:
    async with sim() as ahu:
        driver = BacnetDriver(entry(ahu, agent_port(), mode="cov", timeout=0.5, objects=objects(ahu)[:3]))
        async with driver:
            await driver.poll()
            await ahu.stop()  # the controller restarts: it forgets its subscriptions
            with pytest.raises(DeviceError):
                await driver.poll()
            await ahu.start()
            (back,) = await driver.poll()
            assert ahu.services["SubscribeCOVRequest"] == 6
            ahu.overrides["return_air_temp_c"] = 27.25
            await asyncio.sleep(1.5)
            changes = await driver.poll()
        assert len(back.fields) == 3  # the values as they are now, read once
        last = [dict(r.fields)["return_air_temp_c"] for r in changes if "return_air_temp_c" in dict(r.fields)]
        assert last and last[-1] == pytest.approx(27.25, abs=0.01)


async def test_a_device_that_refuses_cov_is_polled_with_one_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with sim() as ahu:
        ahu.refuse_cov = True
        driver = BacnetDriver(entry(ahu, agent_port(), mode="cov", objects=objects(ahu)[:3]))
        async with driver:
            (first,) = await driver.poll()
            (second,) = await driver.poll()
            (third,) = await driver.poll()
        assert len(first.fields) == len(second.fields) == len(third.fields) == 3
        assert capsys.readouterr().out.count("refuses COV") == 1
        assert ahu.services["SubscribeCOVRequest"] == 3  # asked once per object, never again
