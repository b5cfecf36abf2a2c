"""Command line: ``python -m simulators campus|profiles|ctl ...``.

``campus`` serves a simulated campus until SIGTERM/SIGINT, printing one line
per device and then ``ready``; ``campus --print-config`` prints the agent's
device entries instead.  ``profiles DIR`` writes one profile TOML per kind.
``ctl stop|start NAME`` stops or starts one device of a campus running with
``--control-port`` (the demo's: ``python -m simulators ctl stop machine-2``).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import bus, control, mqtt_sensors
from . import opcua as opcua_machines
from . import snmp as snmp_devices
from .bacnet import campus as bacnet_devices
from .campus import Campus, build_devices, render_devices_config
from .profiles import KINDS, render_profile
from .server import Clock


def _parse_sim_start(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date/time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # why: same values on every host
    return moment.timestamp()


def _shifted_time(offset: float) -> float:
    return time.time() + offset


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators",
        description="Simulated Modbus devices for campus-edge-agent tests and demos.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    campus = sub.add_parser("campus", help="serve a simulated campus over Modbus TCP on loopback")
    campus.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    campus.add_argument("--classrooms", type=int, default=3, help="classroom air-quality sensors (default 3)")
    campus.add_argument("--meters", type=int, default=2, help="three-phase energy meters (default 2)")
    campus.add_argument("--machines", type=int, default=2, help="training-room machines (default 2)")
    campus.add_argument(
        "--base-port", type=int, default=15020, help="port of the first device, then +1 each (default 15020)"
    )
    campus.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    campus.add_argument("--journal", type=Path, help="append a JSON line per served read to this file")
    campus.add_argument(
        "--utc-offset",
        type=float,
        default=0.0,
        metavar="HOURS",
        help="school time zone offset from UTC, for the lesson timetable (default 0)",
    )
    campus.add_argument(
        "--sim-start",
        type=_parse_sim_start,
        metavar="ISO8601",
        help="simulated time at start-up, then advancing with the wall clock (default: now; naive = UTC)",
    )
    campus.add_argument(
        "--print-config", action="store_true", help="print the agent's [[devices.modbus]] TOML and exit"
    )
    campus.add_argument(
        "--control-port",
        type=int,
        metavar="PORT",
        help="listen on this loopback port for `python -m simulators ctl stop|start NAME`",
    )
    mqtt_sensors.add_arguments(campus, in_campus=True)

    snmp_devices.add_arguments(campus)
    opcua_machines.add_arguments(campus)
    bacnet_devices.add_arguments(campus)

    profiles = sub.add_parser("profiles", help="write the agent profile TOML of every device kind")
    profiles.add_argument("directory", type=Path, help="output directory (created if missing)")
    bus.add_parser(sub)
    control.add_parser(sub)
    return parser


async def serve(
    campus: Campus,
    wireless: mqtt_sensors.WirelessSensors | None = None,
    snmp: snmp_devices.SnmpCampus | None = None,
    opcua: opcua_machines.OpcuaCampus | None = None,
    control_port: int | None = None,
    bacnet: bacnet_devices.BacnetCampus | None = None,
) -> int:
    """Run ``campus`` (and the MQTT sensors, if any) until SIGTERM/SIGINT; return the exit status.

    With ``control_port``, one device at a time can be stopped and started (:mod:`.control`).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    publishing: asyncio.Task[None] | None = None
    controlling: asyncio.Server | None = None
    # before start(): a signal during start-up must still end in a clean stop.
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        try:
            await campus.start()
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        for device in campus.devices:
            print(f"{device.name} {device.kind} {device.endpoint} unit={device.unit}")
        if snmp is not None:
            try:
                await snmp.start()
            except OSError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            for snmp_device in snmp.devices:
                print(f"{snmp_device.name} {snmp_device.kind} udp {snmp_device.endpoint}")
        if opcua is not None:
            try:
                await opcua.start()
            except OSError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            for info in opcua.infos:
                print(f"{info.name} opcua-{info.kind} {info.url}")
        if bacnet is not None:
            try:
                await bacnet.start()
            except OSError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            for controller in bacnet.infos:
                print(
                    f"{controller.name} {controller.kind} udp {controller.address} "
                    f"device {controller.instance}"
                )
        if wireless is not None:
            publishing = asyncio.create_task(wireless.run(), name="wireless-sensors")
            for sensor in wireless.sensors:
                print(f"{sensor.name} {mqtt_sensors.KIND} {sensor.topic}")
        if control_port is not None:
            try:
                host = campus.devices[0].host  # the campus's loopback address, checked at build
                controls = control.CampusControl(campus, snmp, opcua, bacnet)
                controlling = await control.serve(controls, host, control_port)
            except OSError as exc:
                print(f"error: control port {control_port}: {exc}", file=sys.stderr)
                return 1
            print(f"control {host}:{control_port}")
        print("ready", flush=True)
        await stop.wait()
    finally:
        if controlling is not None:
            controlling.close()
            await controlling.wait_closed()
        if publishing is not None:
            publishing.cancel()
            await asyncio.gather(publishing, return_exceptions=True)
        await campus.stop()
        if snmp is not None:
            await snmp.stop()
        if opcua is not None:
            await opcua.stop()
        if bacnet is not None:
            await bacnet.stop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "bus":
        return bus.main(args)
    if args.command == "ctl":
        return control.main(args)
    if args.command == "profiles":
        args.directory.mkdir(parents=True, exist_ok=True)
        for kind in KINDS:
            (args.directory / f"{kind}.toml").write_text(render_profile(kind), encoding="utf-8")
            print(args.directory / f"{kind}.toml")
        return 0

    counts = (args.classrooms, args.meters, args.machines)
    try:
        devices = build_devices(*counts, base_port=args.base_port, host=args.host)
        wireless = mqtt_sensors.from_args(args, args.seed) if args.mqtt_broker else None
        snmp_layout = snmp_devices.build_snmp_devices(args.switches, args.ups, args.snmp_port, args.host)
        opcua_layout = opcua_machines.build_opcua_machines(
            args.opcua_cnc, args.opcua_rigs, args.opcua_port, args.host
        )
        bacnet_layout = bacnet_devices.build_bacnet_devices(
            args.bacnet_ahus, args.bacnet_vavs, args.bacnet_port, args.bacnet_fcus
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        sys.stdout.write(render_devices_config(devices))
        if args.mqtt_broker:
            sys.stdout.write("\n" + mqtt_sensors.render_config(args.mqtt_broker))
        if snmp_layout:
            sys.stdout.write("\n" + snmp_devices.render_snmp_config(snmp_layout))
        if opcua_layout:
            sys.stdout.write("\n" + opcua_machines.render_opcua_config(opcua_layout))
        if bacnet_layout:
            sys.stdout.write("\n" + bacnet_devices.render_bacnet_config(bacnet_layout))
        return 0

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    clock: Clock | None = None
    if args.sim_start is not None:
        clock = functools.partial(_shifted_time, args.sim_start - time.time())
    campus = Campus(
        args.seed,
        *counts,
        base_port=args.base_port,
        host=args.host,
        journal=args.journal,
        clock=clock,
        utc_offset_h=args.utc_offset,
    )
    snmp = snmp_devices.from_args(args, clock)
    opcua = opcua_machines.from_args(args)
    bacnet = bacnet_devices.from_args(args, clock)
    return asyncio.run(serve(campus, wireless, snmp, opcua, args.control_port, bacnet))


if __name__ == "__main__":
    sys.exit(main())
