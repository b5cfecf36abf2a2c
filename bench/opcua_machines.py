"""OPC UA figures: nodes read per CPU-second, and the campus footprint with 20 machines added.

Part one: 20 simulated umati CNC machines (nine nodes each) polled at once by this process,
as the scheduler does every interval, then one server read with 450 nodes in each Read (the
same nine variables named 50 times: the server answers each). The agent's CPU time (user +
system of this process) per node read is the figure; the simulators run in their own
process, so their CPU is apart. Part two (``--footprint SECONDS``): the campus of
bench.footprint (1,000 Modbus meters, 100 switches, 200 MQTT sensors) once as it is and
once with 20 OPC UA machines at 10 s, the agent's CPU share and peak RSS of both.
Run: .venv/bin/python -m bench.opcua_machines [--footprint 60]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import structlog

from campus_core.readings import DeviceError
from drivers.opcua import OpcuaDevice, OpcuaDriver
from tests.support.ports import free_port_range

from . import footprint
from .footprint import FOOTPRINT_KEYS
from .measure import campus_process, cpu_seconds, only, publish

MACHINES = 20
CYCLES = 30
WIDE = 50  # the nine nodes named this many times: 450 nodes in one Read
PROFILE = Path(__file__).resolve().parents[1] / "configs" / "profiles" / "opcua-cnc-umati.toml"


async def _poll(driver: OpcuaDriver) -> int:
    try:
        readings = await driver.poll()
    except DeviceError:
        return 0
    return sum(len(r.fields) + len(r.tags) for r in readings)


async def _cycles(drivers: list[OpcuaDriver], cycles: int, simulator: int) -> dict[str, float]:
    await asyncio.gather(*(_poll(d) for d in drivers))  # sessions opened, paths resolved
    cpu, sim_cpu, wall = time.process_time(), cpu_seconds(simulator), time.perf_counter()
    nodes = 0
    for _ in range(cycles):
        nodes += sum(await asyncio.gather(*(_poll(d) for d in drivers)))
    spent = time.process_time() - cpu
    return {
        "nodes": nodes,
        "agent_cpu_s": spent,
        "wall_s": time.perf_counter() - wall,
        "simulator_cpu_s": cpu_seconds(simulator) - sim_cpu,
        "nodes_per_cpu_second": nodes / spent if spent else 0.0,
    }


async def measure_reads(base: int, simulator: int) -> dict[str, float]:
    profile: dict[str, Any] = tomllib.loads(PROFILE.read_text())
    devices = [
        OpcuaDevice(
            name=f"cnc-{i}", url=f"opc.tcp://127.0.0.1:{base + i - 1}", root=f"Machines/cnc-{i}", **profile
        )
        for i in range(1, MACHINES + 1)
    ]
    drivers = [OpcuaDriver(d) for d in devices]
    narrow = await _cycles(drivers, CYCLES, simulator)
    reads = sum(d.stats.reads for d in drivers)
    wide_nodes = [
        {**node, "field" if "field" in node else "tag": f"{node.get('field') or node['tag']}_{k}"}
        for k in range(WIDE)
        for node in profile["nodes"]
    ]
    wide_device = devices[0].model_copy(
        update={
            "name": "wide",
            "nodes": OpcuaDevice(
                name="wide",
                url=devices[0].url,
                root="Machines/cnc-1",
                measurement="training_machine",
                nodes=wide_nodes,
            ).nodes,
        }
    )
    wide = OpcuaDriver(wide_device)
    wide_figures = await _cycles([wide], CYCLES, simulator)
    for driver in [*drivers, wide]:
        await driver.__aexit__(None, None, None)
    return {
        "machines": MACHINES,
        "nodes_per_cpu_second_9_per_read": narrow["nodes_per_cpu_second"],
        "agent_cpu_ms_per_machine_poll": 1000 * narrow["agent_cpu_s"] / (MACHINES * CYCLES),
        "reads_per_machine_poll": reads / (MACHINES * (CYCLES + 1)),
        "simulator_cpu_s_per_cycle": narrow["simulator_cpu_s"] / CYCLES,
        "nodes_per_cpu_second_450_per_read": wide_figures["nodes_per_cpu_second"],
        "wall_ms_per_450_node_poll": 1000 * wide_figures["wall_s"] / CYCLES,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--footprint",
        type=float,
        default=0,
        metavar="SECONDS",
        help="also measure the campus footprint with and without 20 OPC UA machines",
    )
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    base = free_port_range(MACHINES)
    figures: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as work,
        campus_process(
            Path(work), only("--opcua-cnc", str(MACHINES), "--opcua-port", str(base))
        ) as simulator,
    ):
        figures.update(asyncio.run(measure_reads(base, simulator.pid)))
    if args.footprint:
        label = f"campus_plus_{MACHINES}_opcua"
        figures.update(footprint.beside(args.footprint, label, FOOTPRINT_KEYS, opcua=MACHINES))
    publish("opcua_machines", "OPC UA", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
