"""The [[devices.modbus]] model: transports, types and what each register may produce."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from drivers.modbus.config import ModbusDevice, Register


def device(**kwargs: Any) -> ModbusDevice:
    data: dict[str, Any] = {
        "name": "d",
        "measurement": "m",
        "registers": [{"field": "v_v", "address": 0}],
        **kwargs,
    }
    if "host" not in data and "serial" not in data:
        data["host"] = "127.0.0.1"
    return ModbusDevice.model_validate(data)


def error(kind: type[Any], **kwargs: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        if kind is Register:
            Register.model_validate({"address": 0, **kwargs})
        else:
            device(**kwargs)
    return str(caught.value)


def test_a_host_is_modbus_tcp_and_a_serial_port_is_rtu() -> None:
    assert device().transport == "tcp"
    assert device(transport="rtu-over-tcp").link.describe() == "rtu-over-tcp 127.0.0.1:502"
    serial = device(serial="/dev/ttyUSB0", baudrate=19200, parity="even", stopbits=2)
    assert serial.transport == "rtu"
    assert serial.link.describe() == "/dev/ttyUSB0 19200 8E2"


def test_where_the_device_is_must_be_said_once() -> None:
    assert "not both" in error(ModbusDevice, serial="/dev/ttyUSB0", host="10.0.0.1")
    assert "rtu-over-tcp" in error(ModbusDevice, transport="rtu")
    assert "serial port speaks" in error(ModbusDevice, serial="/dev/ttyUSB0", transport="tcp")


def test_devices_on_one_port_share_a_link_key() -> None:
    first = device(serial="/dev/ttyUSB0", unit=1).link
    second = device(serial="/dev/ttyUSB0", unit=7).link
    assert first.key == second.key
    assert device(port=502).link.key != device(port=503).link.key


def test_string_and_enum_go_to_tags_numbers_to_fields() -> None:
    assert "tag" in error(Register, field="model", type="string", length=8)
    assert "length" in error(Register, tag="model", type="string")
    assert "set tag" in error(Register, field="state_code", enum={"0": "idle"})
    assert "a number goes into a field" in error(Register, field="x", tag="y")
    assert "whole numbers" in error(Register, field="x", tag="y", type="float32", enum={"0": "a"})
    assert Register.model_validate({"tag": "model", "address": 0, "length": 4}).type == "string"


def test_bits_of_registers_and_bools() -> None:
    assert "bit = N" in error(Register, field="x", type="bool")
    assert "one bit already" in error(Register, field="x", table="coil", bit=3)
    assert "scale and offset" in error(Register, field="x", bit=3, scale=2)


def test_register_tags_may_not_shadow_the_device_s_tags() -> None:
    registers = [{"field": "state_code", "tag": "room", "address": 0, "enum": {"0": "idle"}}]
    assert "clashes" in error(ModbusDevice, registers=registers, tags={"room": "101"})
    registers[0]["tag"] = "device"
    assert "clashes" in error(ModbusDevice, registers=registers)


def test_names_are_unique_across_fields_and_tags() -> None:
    registers = [{"field": "state", "address": 0}, {"tag": "state", "address": 1, "length": 2}]
    assert "two registers" in error(ModbusDevice, registers=registers)


def test_a_value_wider_than_one_read_is_refused() -> None:
    registers = [{"tag": "name", "address": 0, "length": 40}]
    assert "max_registers" in error(ModbusDevice, registers=registers, max_registers=32)
