"""SNMP figures: 200 devices on one agent, some unreachable.

160 simulated 48-port switches (profiles system + if-mib: 49 points a poll each), 20 UPSes
(system + ups-mib) and 20 addresses where nothing answers (timeout 1 s, one retry), all
polled at once by one process, as the scheduler does every interval. Prints per cycle the
wall time until every answering device was read, the wall time including the dead ones,
the agent's CPU time (also per answering device's poll), and the simulators' CPU time;
then sockets and threads used. The simulators run in their own process (python -m
simulators.snmp), so their CPU is apart.
Run: .venv/bin/python -m bench.snmp_devices
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import cast

import structlog

from campus_core.readings import DeviceError
from drivers.snmp import SnmpDevice, SnmpDriver
from drivers.snmp.session import POOL
from edge_agent import __version__
from tests.support.fds import open_sockets
from tests.support.ports import free_udp_ports

from .measure import cpu_seconds

SWITCHES, UPSES, DEAD = 160, 20, 20
CYCLES = 4


async def _poll(driver: SnmpDriver, started: float, answered: list[float]) -> int:
    """Points one poll gave (0 if the device failed); notes when it answered."""
    try:
        readings = await driver.poll()
    except DeviceError:
        return 0
    answered.append(time.perf_counter() - started)
    return len(readings)


async def measure(base: int, dead_base: int, simulator: int) -> dict[str, object]:
    configs = [
        SnmpDevice(name=f"switch-{i}", host="127.0.0.1", port=base + i - 1, profile=["system", "if-mib"])
        for i in range(1, SWITCHES + 1)
    ]
    configs += [
        SnmpDevice(
            name=f"ups-{i}", host="127.0.0.1", port=base + SWITCHES + i - 1, profile=["system", "ups-mib"]
        )
        for i in range(1, UPSES + 1)
    ]
    configs += [
        SnmpDevice(
            name=f"dead-{i}", host="127.0.0.1", port=dead_base + i, profile="system", timeout="1s", retries=1
        )
        for i in range(DEAD)
    ]
    drivers = [SnmpDriver(config) for config in configs]
    sockets_before, threads_before = open_sockets(), threading.active_count()
    cycles: list[dict[str, float]] = []
    points = 0
    for cycle in range(CYCLES + 1):
        started, cpu, sim_cpu = time.perf_counter(), time.process_time(), cpu_seconds(simulator)
        answered: list[float] = []
        counts = await asyncio.gather(*(_poll(d, started, answered) for d in drivers))
        if cycle == 0:
            continue  # the first poll also finds out which counters each switch has
        points += sum(counts)
        cycles.append(
            {
                "answering_done_s": max(answered),
                "all_done_s": time.perf_counter() - started,
                "agent_cpu_s": time.process_time() - cpu,
                "simulator_cpu_s": cpu_seconds(simulator) - sim_cpu,
                "answered": len(answered),
            }
        )
        await asyncio.sleep(1.0)
    figures: dict[str, object] = {
        key: statistics.median(c[key] for c in cycles)
        for key in ("answering_done_s", "all_done_s", "agent_cpu_s", "simulator_cpu_s", "answered")
    }
    cpu, answering = cast(float, figures["agent_cpu_s"]), cast(float, figures["answered"])
    figures["agent_cpu_ms_per_poll"] = 1000 * cpu / answering if answering else 0.0
    figures["points_per_cycle"] = points / CYCLES
    figures["getbulk_per_switch_poll"] = drivers[0].requests.get("getbulk", 0) / (CYCLES + 1)
    figures["engines"] = POOL.engines()
    figures["extra_sockets"] = open_sockets() - sockets_before
    figures["extra_threads"] = threading.active_count() - threads_before
    for driver in drivers:
        await driver.__aexit__(None, None, None)
    return figures


def main() -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    base = free_udp_ports(SWITCHES + UPSES)
    dead_base = free_udp_ports(DEAD)
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators.snmp",
            "--switches",
            str(SWITCHES),
            "--ups",
            str(UPSES),
            "--base-port",
            str(base),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert simulator.stdout is not None
        for line in simulator.stdout:
            if line.strip() == "ready":
                break
        figures = asyncio.run(measure(base, dead_base, simulator.pid))
    finally:
        simulator.terminate()
        simulator.wait(timeout=20)
    context = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "agent": __version__,
        "devices": f"{SWITCHES} switches x 48 ports, {UPSES} UPSes, {DEAD} unreachable",
    }
    print(f"SNMP, 200 devices polled at once by one process ({context}); medians of {CYCLES} cycles")
    for name, value in figures.items():
        print(f"  {name:<26} {value:>12,.3f}" if isinstance(value, float) else f"  {name:<26} {value:>12}")
    out = Path(__file__).parent / "results" / "snmp_devices.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"context": context, "figures": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
