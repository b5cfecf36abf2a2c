"""What a BACnet controller states about itself, for the asset register: its device object."""

from __future__ import annotations

import pytest

from campus_core.readings import DeviceError
from drivers.bacnet import BacnetDevice, BacnetDriver

from .plant import agent_port, entry, sim


async def test_the_device_object_s_nameplate_is_the_identity() -> None:
    async with sim("bacnet-vav", "vav-3", instance=2003) as vav:
        driver = BacnetDriver(entry(vav, agent_port()))
        async with driver:
            await driver.poll()
            identity = await driver.identify()
            assert driver.connects == 1
    assert dict(identity.pairs) == {
        "vendor": "Simulated HVAC Controls",
        "model": "SIM-VAV-200",
        "firmware": f"2.{2003 % 7}.1",
        "serial": "HV0002003",
        "application": "sim-bacnet-vav 1.4",
    }


async def test_without_a_session_the_probe_says_so_and_the_next_poll_opens_one() -> None:
    async with sim() as ahu:
        driver = BacnetDriver(entry(ahu, agent_port()))
        async with driver:
            with pytest.raises(DeviceError, match="no session"):
                await driver.identify()


def test_the_register_finds_a_routed_controller_by_its_router_network_and_mac() -> None:
    device = BacnetDevice(
        name="fcu-1",
        address="127.0.0.9:47809",
        network=5,
        mac="3",
        measurement="hvac",
        objects=[{"object": "analog-input,1", "field": "zone_temp_c"}],
    )
    assert device.asset_address == "127.0.0.9:47809 network 5 mac 3"
    assert device.identity and device.declared() == type(device.declared())()  # nothing declared
