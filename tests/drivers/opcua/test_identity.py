"""What an OPC UA server states about itself (BuildInfo) and about its machine (a umati DI nameplate)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asyncua import Server, ua

from campus_core.readings import DeviceError
from drivers.opcua import OpcuaDriver
from simulators.opcua import OpcuaMachine

from .machines import cnc, from_profile, port


async def test_a_bare_asyncua_server_is_known_by_its_build_info() -> None:
    server = Server()
    await server.init()
    url = f"opc.tcp://127.0.0.1:{port()}"
    server.set_endpoint(url)
    await server.set_build_info(
        "urn:example:plc", "Example Controls", "ExamplePLC", "4.2.0", "4207", datetime(2026, 3, 1, tzinfo=UTC)
    )
    namespace = await server.register_namespace("urn:example:plc")
    await server.nodes.objects.add_variable(ua.NodeId("Speed", namespace), "Speed", 1.5)
    async with server:
        speed = {"field": "speed_rpm", "node": "nsu=urn:example:plc;s=Speed"}
        device = from_profile("plc-1", url, "opcua-plc-rig", nodes=[speed])
        async with OpcuaDriver(device) as driver:
            await driver.poll()
            identity = (await driver.identify()).as_dict()
    assert identity == {
        "vendor": "Example Controls",
        "model": "ExamplePLC",
        "firmware": "4.2.0",
        "build": "4207",
        "product_uri": "urn:example:plc",
    }


async def test_a_umati_machine_names_itself_and_build_info_names_its_server() -> None:
    async with OpcuaMachine("cnc-1", "cnc", port()) as machine:
        plate = machine.nameplate
        async with OpcuaDriver(cnc("cnc-1", machine.url)) as driver:
            await driver.poll()
            identity = (await driver.identify()).as_dict()
        assert identity["vendor"] == plate.manufacturer
        assert identity["model"] == plate.model
        assert identity["serial"] == plate.serial
        assert identity["firmware"] == plate.software
        assert identity["server_product"] == plate.server_product
        assert identity["server_version"] == plate.server_version
        assert machine.writes == 0


async def test_an_upgrade_is_read_on_the_new_session_after_the_restart() -> None:
    async with OpcuaMachine("rig-1", "plc-rig", port()) as machine:
        async with OpcuaDriver(from_profile("rig-1", machine.url, "opcua-plc-rig")) as driver:
            await driver.poll()
            before = await driver.identify()
            sessions = driver.connects
            machine.nameplate.server_version = "3.2.0"
            await machine.stop()
            await machine.start()
            with pytest.raises(DeviceError):
                await driver.poll()  # the old session is gone
            await driver.poll()
            after = await driver.identify()
        assert driver.connects == sessions + 1  # what makes the agent probe again
        assert before.get("firmware") != "3.2.0" and after.get("firmware") == "3.2.0"


async def test_no_session_is_a_device_error_not_a_new_connection() -> None:
    async with (
        OpcuaMachine("rig-1", "plc-rig", port()) as machine,
        OpcuaDriver(from_profile("rig-1", machine.url, "opcua-plc-rig")) as driver,
    ):
        with pytest.raises(DeviceError, match="no session"):
            await driver.identify()
        assert driver.connects == 0
