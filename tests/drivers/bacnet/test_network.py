"""The network around a device: BBMD registration, a router in front, and broadcast Who-Is."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from bacpypes3.app import Application
from bacpypes3.local.device import DeviceObject
from bacpypes3.pdu import LocalStation
from bacpypes3.vlan.link import VirtualLinkLayer

from campus_core.readings import DeviceError
from drivers.bacnet import BacnetDriver
from drivers.bacnet.scan import discover, render_who_is
from simulators.bacnet import BacnetSimDevice
from simulators.bacnet.network import Bbmd, Router, leave, virtual_network
from tests.support.ports import free_udp_port

from .plant import agent_port, entry, objects, sim

_NETWORKS = itertools.count(1)


async def test_the_agent_registers_with_a_bbmd_and_renews_before_the_ttl_runs_out() -> None:
    async with sim() as ahu, Bbmd("127.0.0.9", free_udp_port(), peers=(ahu.address,)) as bbmd:
        driver = BacnetDriver(entry(ahu, agent_port(), bbmd=bbmd.address, bbmd_ttl=4.0))
        async with driver:
            (reading,) = await driver.poll()
            assert bbmd.registrations == 1 and bbmd.table[0][1] == 4
            await asyncio.sleep(3.3)  # renewed at three quarters of the TTL: 3 s
            assert bbmd.registrations == 2
            (again,) = await driver.poll()
        assert reading.fields and again.fields


async def test_a_bbmd_that_refuses_registration_is_named_and_other_devices_keep_polling() -> None:
    async with sim() as ahu, sim("bacnet-vav", "vav-1") as vav, Bbmd("127.0.0.9", free_udp_port()) as bbmd:
        bbmd.refuse = True
        refused = BacnetDriver(entry(ahu, agent_port(), bbmd=bbmd.address))
        other = BacnetDriver(entry(vav, agent_port()))
        async with refused, other:
            with pytest.raises(DeviceError) as caught:
                await refused.poll()
            (reading,) = await other.poll()
        message = str(caught.value)
        assert (
            "device 'ahu-1'" in message
            and f"BBMD {bbmd.address} refused the foreign-device registration" in message
        )
        assert "remove bbmd" in message and reading.fields


async def test_a_device_behind_a_router_is_read_by_network_number_and_mac() -> None:
    vlan = f"msTP-{next(_NETWORKS)}"
    async with (
        Router("127.0.0.8", free_udp_port(), ip_network=1, network=5, vlan=vlan) as router,
        BacnetSimDevice("vav-7", "bacnet-vav", "127.0.0.1", 0, instance=2207, vlan=vlan, mac=7) as vav,
    ):
        config = entry(vav, agent_port(), address=router.address, network=5, mac="7")
        async with BacnetDriver(config) as driver:
            (reading,) = await driver.poll()
        assert len(reading.fields) == len(vav.points)
        assert vav.services["ReadPropertyMultipleRequest"] >= 1


async def test_broadcast_who_is_on_a_virtual_lan_finds_every_device() -> None:
    vlan = f"lan-{next(_NETWORKS)}"
    virtual_network(vlan)
    devices = [
        BacnetSimDevice(f"vav-{i}", "bacnet-vav", "127.0.0.1", 0, instance=2200 + i, vlan=vlan, mac=10 + i)
        for i in range(1, 4)
    ]
    client = Application.from_object_list(
        [DeviceObject(objectIdentifier=("device", 4194302), objectName="scan")]
    )
    link = VirtualLinkLayer(LocalStation(b"\x02"), vlan)
    client.nsap.bind(link, address=LocalStation(b"\x02"))
    try:
        for device in devices:
            await device.start()
        everyone = await discover(client, None, None, None, 1.0)
        some = await discover(client, 2202, 2203, None, 1.0)
    finally:
        for device in devices:
            await device.stop()
        leave(link)
    assert [int(i.iAmDeviceIdentifier[1]) for i in everyone] == [2201, 2202, 2203]
    assert [int(i.iAmDeviceIdentifier[1]) for i in some] == [2202, 2203]
    config = entry(devices[0], 47809, address="127.0.0.1:47808", objects=objects(devices[0]))
    assert "3 devices answered" in render_who_is(config, everyone, None, None, None)
