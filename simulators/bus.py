"""A simulated RS-485 bus: several devices with their own unit ids on one RTU line.

The line is served either on a serial port (one end of a :class:`NullModem` in tests, so
the agent opens the other end as it would a USB RS-485 adapter) or as RTU framing over TCP,
the way a serial device server (Moxa NPort, USR-TCP232...) forwards a bus to the network.
As on a real bus, a unit id nobody has gets no answer at all.

```sh
python -m simulators bus --classrooms 20 --rtu-over-tcp 127.0.0.1:15100
python -m simulators bus --meters 2 --serial-dir /tmp/bus     # the agent opens /tmp/bus/b
```
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from types import TracebackType

from .campus import SimulatedDevice, check_loopback
from .journal import Journal
from .models import make_model
from .nullmodem import NullModem
from .profiles import toml_string
from .server import Clock, DeviceRuntime, FunctionLog, rtu_server


def build_bus(
    classrooms: int = 0, meters: int = 0, machines: int = 0, first_unit: int = 1, prefix: str = "bus"
) -> list[SimulatedDevice]:
    """Lay out the bus: classrooms, then meters, then machines, on consecutive unit ids."""
    kinds = (
        [("classroom", "classroom-iaq")] * classrooms
        + [("meter", "energy-meter-3ph")] * meters
        + [("machine", "training-machine")] * machines
    )
    if not kinds:
        raise ValueError("the bus needs at least one device")
    if first_unit < 1 or first_unit + len(kinds) - 1 > 247:
        raise ValueError(f"unit ids {first_unit}..{first_unit + len(kinds) - 1} do not fit in 1..247")
    devices = []
    seen: Counter[str] = Counter()
    for index, (short, kind) in enumerate(kinds):
        seen[short] += 1
        unit = first_unit + index
        devices.append(
            SimulatedDevice(
                f"{prefix}-{short}-{seen[short]}",
                kind,
                "",
                0,
                unit,
                {"bus": prefix, "room": f"{short}-{seen[short]}"},
            )
        )
    return devices


class Bus:
    """Devices on one RTU line; :meth:`start` serves it on ``serial`` or on ``host:port``."""

    def __init__(
        self,
        devices: list[SimulatedDevice],
        seed: int = 1,
        *,
        serial: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        journal: str | Path | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Prepare the bus; ``serial`` serves it on that port, else RTU over TCP on host:port."""
        if serial is None:
            check_loopback(host)
            if not 1 <= port <= 65535:
                raise ValueError(f"port {port} is not in 1..65535")
        self.devices = devices
        self.serial = serial
        self.host = host
        self.port = port
        self.clock: Clock = clock if clock is not None else time.time
        epoch = self.clock()
        self.runtimes = {
            d.name: DeviceRuntime(d.name, d.unit, make_model(d.kind, seed + i, epoch), self.clock)
            for i, d in enumerate(devices)
        }
        self.journal_path = Path(journal) if journal is not None else None
        self._journal: Journal | None = None
        self._server: object | None = None
        self._log = FunctionLog()

    @property
    def function_codes(self) -> Counter[int]:
        """Function codes of every request the bus received."""
        return self._log.function_codes

    def runtime(self, unit: int) -> DeviceRuntime:
        """The simulated device answering to ``unit``."""
        return next(r for r in self.runtimes.values() if r.unit == unit)

    def render_config(
        self, *, serial: str | None = None, pause: str | None = None, timeout: str = "1s"
    ) -> str:
        """``[[devices.modbus]]`` entries polling this bus (``serial``: the agent's end)."""
        if serial is not None:
            where = [f"serial = {toml_string(serial)}", "baudrate = 19200"]
        else:
            where = ['transport = "rtu-over-tcp"', f"host = {toml_string(self.host)}", f"port = {self.port}"]
        blocks = []
        for device in self.devices:
            tags = ", ".join(f"{k} = {toml_string(v)}" for k, v in device.tags.items())
            blocks.append(
                "\n".join(
                    [
                        "[[devices.modbus]]",
                        f"name = {toml_string(device.name)}",
                        *where,
                        f"unit = {device.unit}",
                        *([f"pause = {toml_string(pause)}"] if pause else []),
                        f"timeout = {toml_string(timeout)}",
                        f"profile = {toml_string(device.kind)}",
                        f"tags = {{ {tags} }}",
                    ]
                )
            )
        return "\n\n".join(blocks) + "\n"

    async def start(self) -> None:
        """Serve the bus; raises OSError when the port cannot be opened."""
        if self.journal_path is not None:
            self._journal = Journal(self.journal_path)
            self._journal.start()
        server, self._log = rtu_server(
            list(self.runtimes.values()), self._journal, serial=self.serial, host=self.host, port=self.port
        )
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            await self.stop()
            raise OSError(f"bus: cannot serve on {self.serial or f'{self.host}:{self.port}'}: {exc}") from exc
        self._server = server

    async def stop(self) -> None:
        """Stop serving and close the journal."""
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()  # type: ignore[attr-defined]
        if self._journal is not None:
            await self._journal.close()
            self._journal = None

    async def __aenter__(self) -> Bus:
        """Start serving."""
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop serving."""
        await self.stop()


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``bus`` command of ``python -m simulators``."""
    bus = commands.add_parser("bus", help="serve several devices on one RTU line (serial or RTU over TCP)")
    bus.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    bus.add_argument("--classrooms", type=int, default=0)
    bus.add_argument("--meters", type=int, default=0)
    bus.add_argument("--machines", type=int, default=0)
    bus.add_argument("--first-unit", type=int, default=1, help="unit id of the first device (default 1)")
    where = bus.add_mutually_exclusive_group(required=True)
    where.add_argument("--rtu-over-tcp", metavar="HOST:PORT", help="serve RTU framing over TCP (loopback)")
    where.add_argument(
        "--serial-dir",
        type=Path,
        metavar="DIR",
        help="serve on a null-modem pair: the bus on DIR/a, the agent opens DIR/b",
    )
    bus.add_argument("--journal", type=Path, help="append a JSON line per served read to this file")
    bus.add_argument("--print-config", action="store_true", help="print the agent's entries and exit")


def main(args: argparse.Namespace) -> int:
    """Run the ``bus`` command."""
    try:
        devices = build_bus(args.classrooms, args.meters, args.machines, args.first_unit)
        host, port = "127.0.0.1", 0
        if args.rtu_over_tcp:
            host, _, text = args.rtu_over_tcp.rpartition(":")
            port = int(text)
        bus = Bus(
            devices,
            args.seed,
            serial=str(args.serial_dir / "a") if args.serial_dir else None,
            host=host.strip("[]") or "127.0.0.1",
            port=port,
            journal=args.journal,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    agent_end = str(args.serial_dir / "b") if args.serial_dir else None
    if args.print_config:
        sys.stdout.write(bus.render_config(serial=agent_end))
        return 0
    return asyncio.run(_serve(bus, args.serial_dir))


async def _serve(bus: Bus, serial_dir: Path | None) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    modem = NullModem(serial_dir) if serial_dir is not None else None
    try:
        if modem is not None:
            modem.open()
        try:
            await bus.start()
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        where = f"rtu-over-tcp {bus.host}:{bus.port}"
        if modem is not None:
            where = f"serial {modem.b} (agent end)"
        for device in bus.devices:
            print(f"{device.name} {device.kind} {where} unit={device.unit}")
        print("ready", flush=True)
        await stop.wait()
    finally:
        await bus.stop()
        if modem is not None:
            modem.close()
    return 0
