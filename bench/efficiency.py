"""Request efficiency: what one poll costs on the wire against the least it could cost.

Modbus: for every bundled profile, the reads the planner makes per poll against the
theoretical minimum (the fewest windows of 125 registers / 2000 bits covering every value,
gaps read through), and the reads a simulated meter actually served per poll.
SNMP: the PDUs a simulated 48-port switch served for one poll of the if-mib table against
1 GET (the scalars) + ceil(rows / max_repetitions) GETBULKs + 1 that finds the table's end.

Run: make bench (or python -m bench.efficiency)
"""

from __future__ import annotations

import asyncio
import math
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from drivers.modbus.config import BIT_TABLES, SERIAL_MAX_GAP, TCP_MAX_GAP, Register
from drivers.modbus.planner import MAX_BITS, MAX_REGISTERS, plan
from drivers.snmp import SnmpDevice
from simulators.campus import Campus
from simulators.snmp import SnmpCampus
from tests.support.ports import free_port_range, free_udp_port

PROFILES = Path(__file__).resolve().parents[1] / "configs" / "profiles"


def minimum_reads(registers: list[Register], max_registers: int = MAX_REGISTERS) -> int:
    """Fewest reads covering every register: greedy windows from the lowest address (optimal)."""
    reads = 0
    for table in {r.table for r in registers}:
        limit = MAX_BITS if table in BIT_TABLES else max_registers
        end = -1
        for r in sorted((r for r in registers if r.table == table), key=lambda r: r.address):
            if r.address + r.width - 1 > end:
                reads += 1
                end = r.address + limit - 1
    return reads


def modbus_profiles() -> dict[str, float]:
    figures: dict[str, float] = {}
    for path in sorted(PROFILES.glob("*.toml")):
        data: dict[str, Any] = tomllib.loads(path.read_text())
        if "registers" not in data:
            continue
        registers = [Register.model_validate(r) for r in data["registers"]]
        default = TCP_MAX_GAP if "serial" not in path.read_text() else SERIAL_MAX_GAP
        largest = data.get("max_registers", MAX_REGISTERS)
        planned = len(plan(registers, data.get("max_gap", default), largest))
        figures[f"modbus_{path.stem}_reads_per_poll"] = planned
        figures[f"modbus_{path.stem}_minimum_reads"] = minimum_reads(registers, largest)
    return figures


async def served_per_poll() -> dict[str, float]:
    """Poll the simulated meter ten times and count the reads it served."""
    from drivers.modbus.config import ModbusDevice

    base = free_port_range(1)
    profile = tomllib.loads((PROFILES / "energy-meter-3ph.toml").read_text())
    async with Campus(classrooms=0, meters=1, machines=0, base_port=base) as campus:
        device = ModbusDevice.model_validate(
            {
                "name": "meter-1",
                "host": "127.0.0.1",
                "port": base,
                "measurement": profile["measurement"],
                "registers": profile["registers"],
            }
        )
        async with device.create() as driver:
            before = Counter(campus.function_codes)
            for _ in range(10):
                await driver.poll()
            served = sum((Counter(campus.function_codes) - before).values())
    return {"modbus_simulated_meter_reads_served_per_poll": served / 10}


async def snmp_walk() -> dict[str, float]:
    ports, rows = 48, 48
    campus = SnmpCampus(seed=3, switches=1, ups=0, base_port=free_udp_port())
    await campus.start()
    try:
        agent = campus.agents["switch-1"]
        device = SnmpDevice(
            name="switch-1", host="127.0.0.1", port=agent.port, timeout="2s", profile=["system", "if-mib"]
        )
        async with device.create() as driver:
            await driver.poll()
            agent.requests.clear()
            await driver.poll()
        served = sum(agent.requests.values())
    finally:
        await campus.stop()
    least = 1 + math.ceil(rows / device.max_repetitions) + 1
    return {
        "snmp_48_port_poll_pdus": served,
        "snmp_48_port_poll_expected_pdus": least,
        "snmp_switch_ports": ports,
    }


def measure() -> dict[str, float]:
    figures = modbus_profiles()
    figures.update(asyncio.run(served_per_poll()))
    figures.update(asyncio.run(snmp_walk()))
    return figures


def main() -> int:
    print("request efficiency")
    for name, value in measure().items():
        print(f"  {name:<52} {value:>6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
