"""What an SNMP device states about itself: net-snmp's snmpd (sysDescr from its config) and the
simulated switch and UPS (an ENTITY-MIB chassis), read as the asset register reads them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from campus_core.readings import DeviceError
from drivers.snmp import SnmpDevice, SnmpDriver
from simulators.snmp import SnmpCampus
from tests.support.ports import LOOPBACK, free_udp_port, free_udp_ports
from tests.support.snmpd import SYS_CONTACT, SYS_DESCR, SYS_LOCATION, SYS_NAME, Snmpd

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    server = Snmpd(tmp_path_factory.mktemp("snmpd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def simulated() -> AsyncIterator[SnmpCampus]:
    async with SnmpCampus(seed=5, switches=1, ups=1, base_port=free_udp_ports(2), ports=4) as campus:
        yield campus


def entry(port: int, **keys: object) -> SnmpDevice:
    return SnmpDevice.model_validate(
        {
            "name": "dev",
            "host": LOOPBACK,
            "port": port,
            "timeout": "1s",
            "retries": 0,
            "profile": ["system"],
            **keys,
        }
    )


@pytest.mark.parametrize("version", ["1", "2c"])
async def test_snmpd_states_its_system_group_as_net_snmp_reads_it(snmpd: Snmpd, version: str) -> None:
    async with SnmpDriver(entry(snmpd.port, version=version)) as driver:
        identity = (await driver.identify()).as_dict()
    reference = snmpd.get("1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0")
    assert identity["description"] == SYS_DESCR == reference["1.3.6.1.2.1.1.1.0"]
    assert "." + identity["product_id"] == reference["1.3.6.1.2.1.1.2.0"]
    assert identity["sys_name"] == SYS_NAME
    assert identity["location"] == SYS_LOCATION
    assert identity["contact"] == SYS_CONTACT
    # This snmpd has no ENTITY-MIB: nothing is made up for what it does not state.
    assert not {"vendor", "model", "serial", "firmware"} & set(identity)


async def test_control_characters_and_thousands_of_bytes_are_cleaned(simulated: SnmpCampus) -> None:
    plate = simulated.switch("switch-1").nameplate
    plate.vendor = "Simulated\r\nNetworks\x1b[0m"
    plate.model = "SW-" + "9" * 4000
    plate.serial = "\x00\x01\x02\x03"
    async with SnmpDriver(entry(simulated.devices[0].port)) as driver:
        identity = await driver.identify()
    assert identity.get("vendor") == "Simulated Networks[0m"
    assert identity.get("model") == ("SW-" + "9" * 4000)[:128]
    assert identity.get("serial") is None  # nothing printable in it: dropped
    description = identity.get("description")  # sysDescr names the vendor and model too
    assert description is not None and len(description) == 128 and description.isprintable()
    assert identity.cleaned == 3 and identity.dropped == 1


async def test_the_simulated_switch_and_ups_state_their_chassis(simulated: SnmpCampus) -> None:
    for device in simulated.devices:
        plate = simulated.models[device.name].nameplate
        async with SnmpDriver(entry(device.port, version="2c")) as driver:
            identity = (await driver.identify()).as_dict()
            requests = driver.requests
        assert identity["vendor"] == plate.vendor
        assert identity["model"] == plate.model
        assert identity["serial"] == plate.serial
        assert identity["firmware"] == plate.software
        assert identity["hardware"] == plate.hardware
        assert identity["location"] == f"building {device.tags['building']}, {device.tags['room']}"
        # One GET of the system group, one GETBULK for the chassis, one GET of its columns.
        assert requests == {"get": 2, "getbulk": 1}


async def test_a_firmware_upgrade_shows_in_the_next_answer(simulated: SnmpCampus) -> None:
    switch = simulated.switch("switch-1")
    async with SnmpDriver(entry(simulated.devices[0].port)) as driver:
        before = await driver.identify()
        switch.nameplate.software = "2.6.0"
        after = await driver.identify()
    assert before.get("firmware") != "2.6.0"
    assert after.get("firmware") == "2.6.0"
    assert after.get("description") == "Simulated Networks SW-4G, software 2.6.0"


async def test_a_device_that_does_not_answer_is_a_device_error() -> None:
    async with SnmpDriver(entry(free_udp_port())) as driver:
        with pytest.raises(DeviceError, match=r"no answer|within"):
            await driver.identify()
