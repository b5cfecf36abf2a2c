"""``python -m simulators.snmp``: only the SNMP devices (switches, UPSes), for tests and benchmarks.

Prints one line per device, then ``ready``; serves until SIGTERM/SIGINT. ``--print-config``
prints the agent's ``[[devices.snmp]]`` entries instead. ``python -m simulators campus
--switches N --ups N`` serves the same devices beside the Modbus ones.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from . import SnmpCampus, build_snmp_devices, render_snmp_config


def build_parser() -> argparse.ArgumentParser:
    """The options."""
    parser = argparse.ArgumentParser(prog="python -m simulators.snmp", description=__doc__)
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--switches", type=int, default=1, help="access switches (default 1)")
    parser.add_argument("--ups", type=int, default=1, help="UPSes (default 1)")
    parser.add_argument("--switch-ports", type=int, default=48, help="ports per switch (default 48)")
    parser.add_argument("--switch-hc", action="store_true", help="64-bit ifHC* counters too")
    parser.add_argument(
        "--wrap-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="start the 32-bit octet counters this close to their wrap",
    )
    parser.add_argument(
        "--max-size", type=int, default=65_000, help="largest answer in bytes (default 65000)"
    )
    parser.add_argument(
        "--base-port", type=int, default=16100, help="UDP port of the first device (default 16100)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--print-config", action="store_true", help="print [[devices.snmp]] TOML and exit")
    return parser


async def serve(campus: SnmpCampus) -> int:
    """Serve until SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        try:
            await campus.start()
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        for device in campus.devices:
            print(f"{device.name} {device.kind} udp {device.endpoint}")
        print("ready", flush=True)
        await stop.wait()
    finally:
        await campus.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        layout = build_snmp_devices(args.switches, args.ups, args.base_port, args.host)
        if not layout:
            raise ValueError("no devices: give --switches or --ups")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        sys.stdout.write(render_snmp_config(layout))
        return 0
    campus = SnmpCampus(
        args.seed,
        args.switches,
        args.ups,
        args.base_port,
        args.host,
        args.switch_ports,
        args.switch_hc,
        args.wrap_after,
        args.max_size,
    )
    return asyncio.run(serve(campus))


if __name__ == "__main__":
    sys.exit(main())
