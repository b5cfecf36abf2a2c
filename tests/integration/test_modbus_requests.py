"""What goes over the wire, seen from the simulator's side: its journal of served reads.

One poll costs the fewest requests the protocol allows; a read the device refuses is split
around the hole once and the split is kept; busy devices are asked again; every failure
names the device, unit, table and addresses; and nothing but reads (function codes 1-4)
ever reaches a device.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from campus_core.readings import DeviceError
from drivers.modbus import ModbusDriver
from drivers.modbus.link import Links
from simulators import Campus
from simulators.server import DeviceServer
from tests.drivers.modbus.devices import from_profile
from tests.support.ports import LOOPBACK, free_port_range

pytestmark = pytest.mark.integration

MONDAY_10H = 1741600800.0


@pytest.fixture
async def campus(tmp_path: Path) -> AsyncIterator[Campus]:
    """One classroom, one meter, one machine, in this process, with a journal; time stands still."""
    async with Campus(
        seed=3,
        classrooms=1,
        meters=1,
        machines=1,
        base_port=free_port_range(3),
        host=LOOPBACK,
        journal=tmp_path / "journal.jsonl",
        clock=lambda: MONDAY_10H,
    ) as sim:
        yield sim


def served(campus: Campus) -> list[tuple[str, str, int, int]]:
    """(device, table, address, count) of every read served so far."""
    assert campus._journal is not None and campus.journal_path is not None
    campus._journal.flush()
    lines = campus.journal_path.read_text().splitlines()
    return [(e["device"], e["table"], e["address"], len(e["values"])) for e in map(json.loads, lines)]


def driver_for(campus: Campus, name: str, profile: str, **keys: object) -> ModbusDriver:
    device = campus.device(name)
    where: dict[str, object] = {"host": device.host, "port": device.port, **keys}
    return ModbusDriver(from_profile(profile, name=name, **where), Links())


async def test_one_poll_issues_the_minimal_requests(campus: Campus) -> None:
    meter = driver_for(campus, "meter-1", "energy-meter-3ph")  # TCP: read through the gaps, 0-73
    machine = driver_for(campus, "machine-1", "training-machine")  # discrete 0-1, holding 0-5
    for _ in range(3):
        await meter.poll()
        await machine.poll()
    reads = Counter(served(campus))
    assert reads == {
        ("meter-1", "input", 0, 74): 3,
        ("machine-1", "discrete", 0, 2): 3,
        ("machine-1", "holding", 0, 5): 3,
    }
    # A narrower max_gap (the serial default) trades one longer read for two shorter ones.
    narrow = driver_for(campus, "meter-1", "energy-meter-3ph", max_gap=16)
    assert [(r.address, r.count) for r in narrow.requests] == [(0, 18), (52, 22)]


async def test_a_refused_address_is_split_around_and_the_split_remembered(campus: Campus) -> None:
    campus.runtimes["meter-1"].holes = {"input": frozenset({30, 31})}
    device = campus.device("meter-1")
    config = from_profile("energy-meter-3ph", name="meter-1", host=device.host, port=device.port, max_gap=60)
    registers = [
        *config.registers,
        config.registers[0].model_copy(update={"field": "not_there_v", "address": 30}),
    ]
    driver = ModbusDriver(config.model_copy(update={"registers": registers}), Links())
    assert [(r.address, r.count) for r in driver.requests] == [(0, 74)]

    with capture_logs() as logs:
        [first] = await driver.poll()
    fields = dict(first.fields)
    assert "not_there_v" not in fields and len(fields) == 12
    skipped = [e for e in logs if e["event"].startswith("value skipped")]
    assert [(e["table"], e["address"], e["value"]) for e in skipped] == [("input", 30, "not_there_v")]
    assert "exception 2: illegal data address" in skipped[0]["reason"]
    assert driver.stats.skipped_values == 1 and driver.stats.splits == 1
    assert [(r.address, r.count) for r in driver.requests] == [(0, 18), (52, 22)]

    before = len(served(campus))
    with capture_logs() as later:
        for _ in range(3):
            [reading] = await driver.poll()
            assert dict(reading.fields).keys() == fields.keys()
    assert served(campus)[before:] == [("meter-1", "input", 0, 18), ("meter-1", "input", 52, 22)] * 3
    assert not [e for e in later if e["log_level"] == "warning"]  # reported once


async def test_a_busy_device_is_asked_again(campus: Campus) -> None:
    driver = driver_for(campus, "classroom-1", "classroom-iaq")
    campus.runtimes["classroom-1"].busy_replies = 2
    [reading] = await driver.poll()
    assert dict(reading.fields)["co2_ppm"] > 0
    assert driver.stats.busy_retries == 2
    campus.runtimes["classroom-1"].busy_replies = 100
    busy = r"exception 6: device busy .*\(unit 1, input 0-6\) \(asked 4 times\)"
    with pytest.raises(DeviceError, match=busy):
        await driver.poll()


async def test_every_failure_names_device_unit_table_and_addresses(campus: Campus) -> None:
    absent = driver_for(campus, "classroom-1", "classroom-iaq", unit=7)
    with pytest.raises(DeviceError) as failed:
        await absent.poll()
    device = campus.device("classroom-1")
    assert str(failed.value) == (
        f"device 'classroom-1': exception 11: gateway target did not respond (check the unit id and the "
        f"RS-485 wiring) from {device.host}:{device.port} (unit 7, input 0-6)"
    )
    gone = driver_for(campus, "machine-1", "training-machine", port=1, timeout="500ms")
    with pytest.raises(DeviceError, match=r"cannot connect to 127.0.0.1:1"):
        await gone.poll()


async def test_a_float32_with_the_low_word_first_decodes_to_the_served_value(tmp_path: Path) -> None:
    # Many meters (Schneider, ABB, Carlo Gavazzi) send the low word first: serve the meter so.
    async with Campus(
        seed=5,
        classrooms=0,
        meters=1,
        machines=0,
        base_port=free_port_range(1),
        host=LOOPBACK,
        clock=lambda: MONDAY_10H,
    ) as sim:
        runtime = sim.runtimes["meter-1"]
        runtime.specs = {
            t: [dataclasses.replace(s, order="CDAB") for s in specs] for t, specs in runtime.specs.items()
        }
        port = free_port_range(1)
        cdab = DeviceServer(runtime, LOOPBACK, port)
        await cdab.serve_forever(background=True)
        try:
            config = from_profile("energy-meter-3ph", name="meter-1", host=LOOPBACK, port=port)
            registers = [r.model_copy(update={"order": "CDAB"}) for r in config.registers]
            driver = ModbusDriver(config.model_copy(update={"registers": registers}), Links())
            [reading] = await driver.poll()
        finally:
            await cdab.close_server()
    truth = runtime.sample()
    for name, value in reading.fields:
        assert value == pytest.approx(float(truth[name]), rel=1e-7), name  # float32's precision


async def test_nothing_but_reads_reaches_a_device(campus: Campus) -> None:
    campus.runtimes["meter-1"].holes = {"input": frozenset({20})}
    links = Links()
    drivers = [
        ModbusDriver(
            from_profile(
                profile, name=name, host=campus.device(name).host, port=campus.device(name).port, max_gap=60
            ),
            links,
        )
        for name, profile in (
            ("classroom-1", "classroom-iaq"),
            ("meter-1", "energy-meter-3ph"),
            ("machine-1", "training-machine"),
        )
    ]
    for _ in range(2):
        for driver in drivers:
            await driver.poll()
    received = campus.function_codes
    assert sum(received.values()) >= 10
    assert set(received) <= {1, 2, 3, 4}
    sent: Counter[int] = Counter()
    for driver in drivers:
        assert driver.link is not None
        sent.update(driver.link.stats.function_codes)
    assert sent == received
