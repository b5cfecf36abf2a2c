"""Stop and start one simulated device while its campus runs, as a person pulling its plug.

``python -m simulators campus --control-port 15019`` listens on loopback for one-line
commands; ``python -m simulators ctl stop machine-2`` (and ``start``, ``status``) sends them.
A stopped Modbus or OPC UA device closes its port (connections are refused), a stopped SNMP
or BACnet device stops answering (as a switch or a controller without power: UDP has no
refusal); its model keeps
running, so it comes back with the values it would have had. Wireless MQTT sensors are not
stopped here: the agent sees them through one wildcard device.

``firmware NAME VERSION`` upgrades a device, as a technician flashing it: it restarts
(a Modbus or OPC UA device closes its connections; an SNMP device's uptime starts again; a
BACnet controller forgets its COV subscriptions) and from then on states the new version
(Modbus FC 43 and SunSpec, SNMP sysDescr and ENTITY-MIB, OPC UA DI SoftwareRevision or
BuildInfo's SoftwareVersion, the BACnet device object's firmware-revision).

The protocol: the client sends ``stop NAME``, ``start NAME``, ``firmware NAME VERSION`` or
``status`` and a newline; the campus answers one line, ``ok ...`` or ``error ...``, and closes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import socket
import sys
from typing import TYPE_CHECKING

from .campus import Campus

if TYPE_CHECKING:
    from .bacnet import BacnetSimDevice
    from .bacnet.campus import BacnetCampus
    from .opcua import OpcuaCampus, OpcuaMachine
    from .snmp import SnmpCampus

#: The demo campus's control port, just below its first device; also ``ctl``'s default.
DEFAULT_PORT = 15019


class CampusControl:
    """The devices of one running campus that can be stopped and started, by name."""

    def __init__(
        self,
        campus: Campus,
        snmp: SnmpCampus | None = None,
        opcua: OpcuaCampus | None = None,
        bacnet: BacnetCampus | None = None,
    ) -> None:
        self.campus = campus
        self.snmp = snmp
        self.opcua = opcua
        self.bacnet = bacnet
        self.stopped: set[str] = set()

    def names(self) -> list[str]:
        """Every device this control can stop."""
        names = [device.name for device in self.campus.devices]
        names += [device.name for device in self.snmp.devices] if self.snmp else []
        names += [machine.name for machine in self.opcua.machines] if self.opcua else []
        names += [controller.name for controller in self.bacnet.devices] if self.bacnet else []
        return names

    async def stop(self, name: str) -> str:
        """Stop ``name``; what happened, in words."""
        if name in self.stopped:
            return f"{name} is already stopped"
        if self.snmp is not None and name in self.snmp.agents:
            self.snmp.agents[name].close()
        elif self.opcua is not None and (machine := self._machine(name)) is not None:
            await machine.stop()
        elif (controller := self._controller(name)) is not None:
            await controller.stop()
        else:
            await self.campus.stop_device(name)
        self.stopped.add(name)
        return f"{name} stopped"

    async def start(self, name: str) -> str:
        """Start ``name`` again; what happened, in words."""
        if name not in self.stopped:
            return f"{name} is running"
        if self.snmp is not None and name in self.snmp.agents:
            await self.snmp.agents[name].start()
        elif self.opcua is not None and (machine := self._machine(name)) is not None:
            await machine.start()
        elif (controller := self._controller(name)) is not None:
            await controller.start()
        else:
            await self.campus.start_device(name)
        self.stopped.discard(name)
        return f"{name} started"

    async def upgrade(self, name: str, version: str) -> str:
        """Give ``name`` firmware ``version`` and restart it; what happened, in words."""
        if self.snmp is not None and name in self.snmp.agents:
            model = self.snmp.models[name]
            model.nameplate.software = version
            model.restart()
        elif self.opcua is not None and (machine := self._machine(name)) is not None:
            if machine.kind == "cnc":
                machine.nameplate.software = version
            else:
                machine.nameplate.server_version = version
            if name not in self.stopped:
                await machine.stop()
                await machine.start()
        elif (controller := self._controller(name)) is not None:
            controller.firmware = version
            if name not in self.stopped:
                await controller.stop()
                await controller.start()
        else:
            runtime = self.campus.runtimes[name]
            if runtime.identity is None:
                raise OSError("this device states no identity to upgrade")
            runtime.identity = dataclasses.replace(runtime.identity, revision=version)
            if name not in self.stopped:
                await self.campus.stop_device(name)
                await self.campus.start_device(name)
        return f"{name} runs firmware {version}"

    def status(self) -> str:
        """Every device and whether it runs."""
        return " ".join(f"{name}={'stopped' if name in self.stopped else 'running'}" for name in self.names())

    def _machine(self, name: str) -> OpcuaMachine | None:
        assert self.opcua is not None
        return next((machine for machine in self.opcua.machines if machine.name == name), None)

    def _controller(self, name: str) -> BacnetSimDevice | None:
        if self.bacnet is None:
            return None
        return next((device for device in self.bacnet.devices if device.name == name), None)

    async def answer(self, line: str) -> str:
        """The answer to one command line."""
        verb, _, rest = line.strip().partition(" ")
        name, _, version = rest.strip().partition(" ")
        version = version.strip()
        if verb == "status":
            return f"ok {self.status()}"
        if verb not in ("stop", "start", "firmware") or not name or (verb == "firmware") != bool(version):
            return "error say 'stop NAME', 'start NAME', 'firmware NAME VERSION' or 'status'"
        if name not in self.names():
            return f"error no device {name!r} to {verb}; these can be: {', '.join(self.names())}"
        try:
            if verb == "firmware":
                return "ok " + await self.upgrade(name, version)
            return "ok " + (await self.stop(name) if verb == "stop" else await self.start(name))
        except OSError as exc:
            return f"error {name}: {exc}"


async def serve(control: CampusControl, host: str, port: int) -> asyncio.Server:
    """Listen for commands on ``host:port`` (loopback only, checked by the caller)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                line = (await reader.readline()).decode("utf-8", "replace")
                writer.write((await control.answer(line) + "\n").encode())
                await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ctl stop|start NAME``, ``ctl firmware NAME VERSION`` and ``ctl status``."""
    ctl = commands.add_parser(
        "ctl", help="stop, start or upgrade one device of a running campus (campus --control-port)"
    )
    ctl.add_argument("verb", choices=("stop", "start", "firmware", "status"))
    ctl.add_argument("name", nargs="?", default="", help="the device, e.g. machine-2")
    ctl.add_argument("version", nargs="?", default="", help="firmware: the new version, e.g. 3.4.0")
    ctl.add_argument("--host", default="127.0.0.1", help="the campus's address (default %(default)s)")
    ctl.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="its --control-port (default %(default)s, the demo's)"
    )


def main(args: argparse.Namespace) -> int:
    """Send one command; 0 when the campus did it, 1 when it refused, 2 when none answered."""
    if args.verb != "status" and not args.name:
        print(f"error: name the device to {args.verb}, e.g. machine-2", file=sys.stderr)
        return 2
    if args.verb == "firmware" and not args.version:
        print("error: give the new version, e.g. firmware meter-1 3.4.0", file=sys.stderr)
        return 2
    try:
        with socket.create_connection((args.host, args.port), timeout=15) as connection:
            connection.sendall(f"{args.verb} {args.name} {args.version}".strip().encode() + b"\n")
            answer = connection.makefile("r", encoding="utf-8").readline().strip()
    except OSError as exc:
        print(
            f"error: no campus answers on {args.host}:{args.port} ({exc.strerror or exc}); "
            "is the demo running (make demo)?",
            file=sys.stderr,
        )
        return 2
    ok = answer.startswith("ok ")
    print(answer.removeprefix("ok ").removeprefix("error "), file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
