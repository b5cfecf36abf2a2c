"""The agent against a bare Modbus client, per CPU-second, on the same fast server in one run.

A libmodbus server (bench/libmodbus_server.c, compiled here with gcc and libmodbus-dev) serves
20 connections; first a bare pymodbus client reads 100 holding registers on each as fast as
they answer, then the agent polls the same 20 x 100 registers (one device per connection,
interval 1 ms, so it polls as fast as it can; the agent's own interval stays 10 s) and delivers
them into VictoriaMetrics; three rounds of both, medians reported. Both figures are fields per
CPU-second of their own process (user + system from /proc), so the server's and the store's
share of the cores does not count. The bare client does nothing but read; the agent also
decodes, encodes, commits to disk and sends: the ratio is what the agent's own work costs.

Run: python -m bench.ratio [--seconds 20] [--rounds 3] [--devices 20] [--registers 100] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from tests.support.ports import free_port
from tests.support.processes import AgentProcess, wait_for
from tests.support.victoriametrics import VictoriaMetrics

from .measure import cpu_seconds
from .profile import RESULTS, summarise_cpu
from .throughput import counters

SOURCE = Path(__file__).with_name("libmodbus_server.c")


def build_server(work: Path) -> Path:
    """Compile the libmodbus server into ``work``; a clear error when gcc or libmodbus is missing."""
    binary = work / "libmodbus_server"
    if shutil.which("gcc") is None or shutil.which("pkg-config") is None:
        raise SystemExit("bench.ratio needs gcc and pkg-config: apt-get install gcc pkg-config libmodbus-dev")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libmodbus"], capture_output=True, text=True)
    if flags.returncode != 0:
        raise SystemExit("bench.ratio needs libmodbus: apt-get install libmodbus-dev")
    subprocess.run(
        ["gcc", "-O2", "-o", str(binary), str(SOURCE), *flags.stdout.split()], check=True, timeout=120
    )
    return binary


class Server:
    """The compiled libmodbus server on a free loopback port."""

    def __init__(self, binary: Path) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([str(binary), str(self.port)], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"libmodbus server did not start: {line!r}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def _bare(port: int, connections: int, registers: int, seconds: float) -> dict[str, float]:
    from pymodbus.client import AsyncModbusTcpClient

    clients = [AsyncModbusTcpClient("127.0.0.1", port=port, timeout=3) for _ in range(connections)]
    for client in clients:
        await client.connect()
    fields = 0
    running = True

    async def poll(client: AsyncModbusTcpClient) -> None:
        nonlocal fields
        while running:
            answer = await client.read_holding_registers(0, count=registers, device_id=1)
            if answer.isError():
                raise RuntimeError(f"the server refused a read: {answer}")
            fields += len(answer.registers)

    tasks = [asyncio.create_task(poll(client)) for client in clients]
    await asyncio.sleep(1)  # warm up: connections open, first answers in
    usage0, wall0, fields0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic(), fields
    await asyncio.sleep(seconds)
    usage1, wall1, fields1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic(), fields
    running = False
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        client.close()
    cpu = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
    return {
        "fields_per_s": (fields1 - fields0) / (wall1 - wall0),
        "fields_per_cpu_second": (fields1 - fields0) / cpu,
    }


def bare_client(port: int, connections: int, registers: int, seconds: float) -> dict[str, float]:
    """The bare client's figures, measured in a process of its own."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.ratio",
            "--bare-port",
            str(port),
            "--devices",
            str(connections),
            "--registers",
            str(registers),
            "--seconds",
            str(seconds),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    ).stdout
    figures: dict[str, float] = json.loads(out)
    return figures


def write_profile(config_dir: Path, registers: int) -> None:
    """``profiles/bench-ratio.toml``: ``registers`` uint16 holding registers, one field each."""
    entries = "\n".join(
        f'[[registers]]\nfield = "value_{i:03d}"\ntable = "holding"\naddress = {i}\ntype = "uint16"\n'
        for i in range(registers)
    )
    (config_dir / "profiles").mkdir(parents=True, exist_ok=True)
    (config_dir / "profiles" / "bench-ratio.toml").write_text(f'measurement = "bench_ratio"\n\n{entries}')


def agent(
    work: Path, port: int, devices: int, registers: int, seconds: float, profile: Path | None = None
) -> dict[str, float]:
    """The agent's figures: 20 devices on the server, delivered into VictoriaMetrics.

    With ``profile``, py-spy samples the agent through the measured window into that file.
    """
    store = VictoriaMetrics(work / "vm")
    store.start()
    config = work / "agent" / "agent.toml"
    config.parent.mkdir(parents=True)
    write_profile(config.parent, registers)
    entries = "\n".join(
        f'[[devices.modbus]]\nname = "ratio-{i:02d}"\nhost = "127.0.0.1"\nport = {port}\nunit = 1\n'
        f'profile = "bench-ratio"\ninterval = "1ms"\n'
        for i in range(devices)
    )
    config.write_text(f"""
[agent]
school = "bench"
state_dir = "state"
[buffer]
flush_interval = "250ms"
[log]
level = "warning"
format = "json"
[[sinks.influxdb]]
name = "store"
url = "{store.url}"
bucket = "bench"
{entries}
""")
    process = AgentProcess(config)
    process.start()
    assert process.process is not None
    pid = process.process.pid
    buffer_file = config.parent / "state" / "buffer.db"
    try:
        wait_for(lambda: counters(buffer_file).get("delivered:store", 0) > 0, 30, what="the first delivery")
        time.sleep(1)
        spy = None
        if profile is not None:
            spy = subprocess.Popen(
                [
                    py_spy(),
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(int(seconds)),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "-o",
                    str(profile),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        cpu0, wall0, done0 = cpu_seconds(pid), time.monotonic(), counters(buffer_file)
        time.sleep(seconds)
        cpu1, wall1, done1 = cpu_seconds(pid), time.monotonic(), counters(buffer_file)
        if spy is not None:
            spy.wait(timeout=60)
    finally:
        process.stop()
        store.stop()
    delivered = (done1.get("delivered:store", 0) - done0.get("delivered:store", 0)) * registers
    return {
        "fields_per_s": delivered / (wall1 - wall0),
        "fields_per_cpu_second": delivered / (cpu1 - cpu0),
        "cpu_share_of_one_core": (cpu1 - cpu0) / (wall1 - wall0),
    }


def py_spy() -> str:
    """The py-spy beside this Python, or on the PATH."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return spy


def measure(
    seconds: float = 20, devices: int = 20, registers: int = 100, rounds: int = 3, profile: Path | None = None
) -> dict[str, float]:
    """Rounds of the bare client then the agent on the same server; the medians of each figure.

    The machines are shared: alternating the two, round after round, lets a noisy moment
    weigh on both, and the median ratio is that of one round, not of two distant runs.
    """
    bares: list[dict[str, float]] = []
    ours: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = Server(build_server(work))
        try:
            for round_ in range(rounds):
                bares.append(bare_client(server.port, devices, registers, seconds))
                ours.append(
                    agent(
                        work / f"round-{round_}",
                        server.port,
                        devices,
                        registers,
                        seconds,
                        profile if round_ == 0 else None,
                    )
                )
        finally:
            server.stop()
    ratios = [
        a["fields_per_cpu_second"] / b["fields_per_cpu_second"] for a, b in zip(ours, bares, strict=True)
    ]
    return {
        "bare_fields_per_cpu_second": median(b["fields_per_cpu_second"] for b in bares),
        "bare_fields_per_s": median(b["fields_per_s"] for b in bares),
        "agent_fields_per_cpu_second": median(a["fields_per_cpu_second"] for a in ours),
        "agent_fields_per_s_delivered": median(a["fields_per_s"] for a in ours),
        "agent_cpu_share_of_one_core": median(a["cpu_share_of_one_core"] for a in ours),
        "ratio_agent_to_bare": median(ratios),
        "ratio_lowest_round": min(ratios),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--devices", type=int, default=20, help="connections / devices (default 20)")
    parser.add_argument("--registers", type=int, default=100, help="registers per read (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="bare client then agent, this many times")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the agent into bench/results/profile-ratio.txt "
        "(a profiled run's figures are not the figures)",
    )
    parser.add_argument("--bare-port", type=int, help=argparse.SUPPRESS)  # the bare client's own process
    args = parser.parse_args(argv)
    if args.bare_port is not None:
        print(json.dumps(asyncio.run(_bare(args.bare_port, args.devices, args.registers, args.seconds))))
        return 0
    profile = RESULTS / "profile-ratio.txt" if args.profile else None
    if profile is not None:
        profile.parent.mkdir(exist_ok=True)
    figures = measure(args.seconds, args.devices, args.registers, args.rounds, profile)
    print(
        f"agent against a bare pymodbus client ({args.devices} connections x {args.registers} registers, "
        f"libmodbus server, {args.seconds:g}s each, {os.cpu_count()} cores)"
    )
    for name, value in figures.items():
        print(f"  {name:<32} {value:>14,.2f}")
    print("  targets: ratio_agent_to_bare >= 0.8; agent_fields_per_s_delivered >= 400,000")
    if profile is not None:
        summarise_cpu(profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
