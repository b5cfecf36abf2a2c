"""Links: RTU on a real serial line (a pty pair), RTU over TCP, one conversation at a time.

The servers are pymodbus RTU servers from simulators/ with several unit ids on one line;
the serial line is a pair of kernel ptys joined back to back (simulators/nullmodem.py).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from campus_core.readings import DeviceError
from drivers.modbus import ModbusDriver
from drivers.modbus.link import Links
from simulators.bus import Bus, build_bus
from simulators.nullmodem import NullModem
from simulators.profiles import register_map
from simulators.registers import decode, encode
from tests.drivers.modbus.devices import from_profile, from_toml
from tests.support.ports import LOOPBACK, free_port

MONDAY_10H = 1741600800.0  # a lesson is on: classroom values are well away from their limits


@pytest.fixture
async def serial_bus(tmp_path: Path) -> AsyncIterator[tuple[Bus, str]]:
    """Two classrooms and a meter on units 1-3 of a serial line; yields the bus and the agent's end."""
    async with NullModem() as modem:
        bus = Bus(
            build_bus(classrooms=2, meters=1),
            serial=modem.a,
            journal=tmp_path / "bus.jsonl",
            clock=lambda: MONDAY_10H,
        )
        async with bus:
            yield bus, modem.b


async def poll_all(drivers: list[ModbusDriver]) -> list[dict[str, object]]:
    readings = await asyncio.gather(*(d.poll() for d in drivers))
    return [dict(r[0].fields) for r in readings]


def expected(bus: Bus, name: str) -> dict[str, float]:
    """What the simulator serves now, as it encodes it (its own codec, not the driver's)."""
    runtime = bus.runtimes[name]
    values = runtime.sample()
    served: dict[str, float] = {}
    for spec in register_map(runtime.model.kind):
        value = float(values[spec.field])
        if spec.order is not None and spec.scale is not None:
            raw = encode(value, spec.type, spec.order, spec.scale)
            value = decode(raw, spec.type, spec.order, spec.scale)
        served[spec.field] = value
    return served


async def test_rtu_on_a_serial_line_reads_every_unit_through_one_link(serial_bus: tuple[Bus, str]) -> None:
    bus, port = serial_bus
    links = Links()
    drivers = [ModbusDriver(d, links) for d in from_toml(bus.render_config(serial=port))]
    values = await poll_all(drivers)
    for driver, fields in zip(drivers, values, strict=True):
        truth = expected(bus, driver.name)
        assert fields.keys() == truth.keys()
        for name, value in fields.items():
            assert value == pytest.approx(truth[name], rel=1e-12), (driver.name, name)
    assert len({id(d.link) for d in drivers}) == 1
    link = drivers[0].link
    assert link is not None and str(link) == f"{port} 19200 8N1"
    assert set(link.stats.function_codes) == {4}
    for driver in drivers:
        await driver.__aexit__(None, None, None)


async def test_rtu_over_tcp_against_a_serial_server() -> None:
    bus = Bus(build_bus(classrooms=1, machines=1), host=LOOPBACK, port=free_port(), clock=lambda: MONDAY_10H)
    async with bus:
        links = Links()
        drivers = [ModbusDriver(d, links) for d in from_toml(bus.render_config())]
        values = await poll_all(drivers)
        assert values[0] == pytest.approx(expected(bus, "bus-classroom-1"), rel=1e-12)
        assert set(values[1]) == set(expected(bus, "bus-machine-1"))
        assert drivers[0].link is drivers[1].link
        assert str(drivers[0].link).startswith("rtu-over-tcp ")
        assert set(bus.function_codes) <= {1, 2, 3, 4}


async def test_one_request_at_a_time_with_the_pause_between(
    serial_bus: tuple[Bus, str], tmp_path: Path
) -> None:
    bus, port = serial_bus
    links = Links()
    drivers = [ModbusDriver(d, links) for d in from_toml(bus.render_config(serial=port, pause="50ms"))]
    for _ in range(3):
        await poll_all(drivers)  # all three units asked at once, every round
    await bus.stop()  # flushes the journal
    times = [json.loads(line)["t_ms"] for line in (tmp_path / "bus.jsonl").read_text().splitlines()]
    assert len(times) == 3 * 4  # 2 classrooms x 1 request, the meter x 2 (0-17, 52-73)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 40, gaps  # 50 ms asked; the clock is in ms and the server needs time too


async def test_a_silent_unit_on_the_bus_fails_alone(serial_bus: tuple[Bus, str]) -> None:
    _, port = serial_bus
    links = Links()
    alive = ModbusDriver(
        from_profile("classroom-iaq", name="alive", serial=port, unit=1, timeout="2s"), links
    )
    silent = ModbusDriver(
        from_profile("classroom-iaq", name="silent", serial=port, unit=9, timeout="200ms"), links
    )
    outcome = await asyncio.gather(silent.poll(), alive.poll(), return_exceptions=True)
    assert isinstance(outcome[0], DeviceError)
    assert f"no answer from {port}" in outcome[0].reason
    assert "unit 9, input 0-6" in outcome[0].reason
    assert not isinstance(outcome[1], BaseException)
    assert silent.stats.timeouts == 1


async def test_two_devices_on_one_port_must_agree_on_its_settings(serial_bus: tuple[Bus, str]) -> None:
    _, port = serial_bus
    links = Links()
    first = ModbusDriver(from_profile("classroom-iaq", name="first", serial=port, unit=1), links)
    second = ModbusDriver(
        from_profile("classroom-iaq", name="second", serial=port, unit=2, baudrate=4800), links
    )
    await first.poll()
    with pytest.raises(DeviceError, match=r"'second' and 'first' share .* differ in baudrate"):
        await second.poll()


async def test_a_missing_serial_port_says_so(tmp_path: Path) -> None:
    driver = ModbusDriver(
        from_profile("classroom-iaq", name="nowhere", serial=str(tmp_path / "ttyUSB9")), Links()
    )
    with pytest.raises(DeviceError, match="cannot open serial port"):
        await driver.poll()
