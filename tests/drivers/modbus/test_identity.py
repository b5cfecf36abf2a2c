"""What a Modbus device states about itself: Read Device Identification (FC 43 / MEI 14) and SunSpec.

Over Modbus TCP (the agent's own framing) and over RTU on a serial line and RTU over TCP
(pymodbus' client), against the simulated devices and a plain pymodbus server; the pages of
an answer that does not fit one frame; the answers that are not pages.
"""

from __future__ import annotations

import dataclasses
import struct

import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.modbus import mei
from drivers.modbus.driver import ModbusDriver
from drivers.modbus.link import Links
from simulators.bus import Bus, build_bus
from simulators.campus import Campus
from simulators.nullmodem import NullModem
from tests.drivers.modbus.devices import from_profile, from_toml
from tests.support.ports import LOOPBACK, free_port, free_port_range


async def test_over_a_serial_line_and_rtu_over_tcp_each_unit_states_its_own_identity() -> None:
    async with NullModem() as modem:
        serial = Bus(build_bus(classrooms=1, meters=1), serial=modem.a)
        over_tcp = Bus(build_bus(machines=1), host=LOOPBACK, port=free_port())
        async with serial, over_tcp:
            links = Links()
            devices = from_toml(serial.render_config(serial=modem.b)) + from_toml(over_tcp.render_config())
            for device, bus in zip(devices, (serial, serial, over_tcp), strict=True):
                async with ModbusDriver(device, links) as driver:
                    identity = await driver.identify()
                stated = bus.runtimes[device.name].identity
                assert stated is not None
                assert identity.get("vendor") == stated.vendor
                assert identity.get("firmware") == stated.revision
                assert identity.get("application") == device.name
            assert set(serial.function_codes) == {3, 43}  # identification and SunSpec's base: reads
            assert set(over_tcp.function_codes) == {3, 43}


async def test_an_answer_in_several_pages_is_followed_to_its_end() -> None:
    async with Campus(seed=2, classrooms=1, meters=0, machines=0, base_port=free_port_range(1)) as campus:
        runtime = campus.runtimes["classroom-1"]
        assert runtime.identity is not None
        # Three objects of 200 bytes: no frame carries more than one of them.
        runtime.identity = dataclasses.replace(
            runtime.identity, vendor_url="u" * 200, product_name="p" * 200, model_name="m" * 200
        )
        port = campus.device("classroom-1").port
        device = from_profile("classroom-iaq", name="classroom-1", host=LOOPBACK, port=port)
        async with ModbusDriver(device) as driver:
            identity = await driver.identify()
        assert identity.get("vendor_url") == "u" * 128
        assert identity.get("product_name") == "p" * 128
        assert identity.get("model") == "m" * 128
        assert campus.function_codes[43] >= 3
        assert identity.cleaned == 3


async def test_a_plain_pymodbus_server_with_a_sunspec_common_model() -> None:
    """An independent server: pymodbus' own datastore holding SunSpec model 1 at 40000."""
    words = [0x5375, 0x6E53, 1, 66]
    for text, size in (("SolarEdge", 16), ("SE5000H", 16), ("", 8), ("4.14.107", 8), ("7E1234AB", 16)):
        words += list(struct.unpack(f">{size}H", text.encode().ljust(2 * size, b"\x00")))
    words += [1, 0]
    holding = [
        SimData(0, count=10, values=0, datatype=DataType.REGISTERS),
        SimData(40000, values=words, datatype=DataType.REGISTERS),
    ]
    bits = [SimData(0, values=[False], datatype=DataType.BITS)]
    device = SimDevice(id=1, simdata=(bits, bits, holding, [SimData(0, datatype=DataType.INVALID)]))
    port = free_port()
    server = ModbusTcpServer(device, address=(LOOPBACK, port))
    await server.serve_forever(background=True)
    try:
        config = from_profile("sdm630", name="inverter-1", host=LOOPBACK, port=port, timeout="1s")
        async with ModbusDriver(config) as driver:
            identity = (await driver.identify()).as_dict()
    finally:
        await server.shutdown()  # type: ignore[no-untyped-call]
    assert identity["serial"] == "7E1234AB"
    assert identity["firmware"] == "4.14.107"
    assert identity["model"] == "SE5000H"
    # pymodbus' own server answers FC 43 from its defaults (empty): nothing of it is kept.
    assert identity["vendor"] == "SolarEdge"


@pytest.mark.parametrize(
    ("pdu", "problem"),
    [
        (b"\x2b\x0e\x01", "shorter than its 7-byte header"),
        (b"\x2b\x0d\x01\x81\x00\x00\x00", "expected 43 / 14"),
        (b"\x2b\x0e\x01\x81\x42\x00\x00", "'more follows' byte is 0x42"),
        (b"\x2b\x0e\x01\x81\x00\x00\x02\x00\x03abc", "announces 2 objects but ends after 1"),
        (b"\x2b\x0e\x01\x81\x00\x00\x01\x00\x09abc", "claims 9 bytes, 3 are left"),
        (b"\x2b\x0e\x01\x81\x00\x00\x01\x00\x03abcxyz", "3 bytes follow"),
    ],
)
def test_an_answer_that_is_not_a_page_is_named(pdu: bytes, problem: str) -> None:
    with pytest.raises(mei.PageError, match=problem.replace("(", r"\(")):
        mei.parse(pdu)


def test_a_page_is_read_object_by_object() -> None:
    page = mei.parse(b"\x2b\x0e\x02\x82\xff\x05\x02\x00\x04ACME\x01\x03X-1")
    assert page == mei.IdPage(2, 0x82, True, 5, ((0, b"ACME"), (1, b"X-1")))
    assert mei.request(2, 0) == b"\x2b\x0e\x02\x00"
