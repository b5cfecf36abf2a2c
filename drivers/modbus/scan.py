"""Probe a Modbus device (read-only) and print a draft [[devices.modbus]] entry to paste.

Finds which unit ids answer on a TCP address, a serial server (--transport rtu-over-tcp)
or a serial port (--serial), then which addresses of each table read, and prints one entry
per unit with a register for each readable address (raw values shown as comments, with a
float32 reading where two registers look like one). Only read requests (function codes
1-4) are sent. Rename the fields to what the manual says they are, set their types, and
keep the ones you need; `edge-agent check` accepts the draft as printed.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import struct
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from campus_core.names import is_name
from campus_core.units import parse_duration

from .config import BIT_TABLES, LinkSettings
from .errors import LinkDown, LinkError
from .link import Link

TABLES = ("holding", "input", "coil", "discrete")
#: Exceptions a gateway gives for a unit that is not there.
_ABSENT = {10, 11}
_BUNDLED = Path(__file__).resolve().parents[2] / "configs" / "profiles"


@dataclass
class UnitFindings:
    """What one unit answered: per table, readable addresses and their raw values."""

    unit: int
    values: dict[str, dict[int, int | bool]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``edge-agent scan modbus``."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--host", help="IP address of the device or serial server")
    where.add_argument("--serial", help="serial port of an RS-485 adapter, e.g. /dev/ttyUSB0")
    parser.add_argument("--port", type=int, default=502, help="TCP port (default 502)")
    parser.add_argument(
        "--transport",
        choices=["tcp", "rtu-over-tcp"],
        default="tcp",
        help="with --host: Modbus TCP (default) or RTU framing through a serial server",
    )
    parser.add_argument("--baudrate", type=int, default=9600, help="with --serial (default 9600)")
    parser.add_argument("--parity", choices=["N", "E", "O"], default="N", help="with --serial (default N)")
    parser.add_argument("--stopbits", type=int, choices=[1, 2], default=1, help="with --serial (default 1)")
    parser.add_argument("--bytesize", type=int, choices=[7, 8], default=8, help="with --serial (default 8)")
    parser.add_argument(
        "--units", default="1-247", help="unit ids to try, e.g. 1-247 or 1,2,10-20 (default 1-247)"
    )
    parser.add_argument(
        "--addresses",
        default="0-127",
        help="address range to read in each table, e.g. 0-127 (default) or 0-999",
    )
    parser.add_argument("--tables", default=",".join(TABLES), help="tables to read (default: all four)")
    parser.add_argument("--timeout", default="500ms", help="wait per request (default 500ms)")
    parser.add_argument("--pause", default="0ms", help="wait between requests on the bus (default 0ms)")
    parser.add_argument(
        "--max-fields", type=int, default=60, help="registers per table in the draft (default 60)"
    )


def run(args: argparse.Namespace) -> int:
    """Scan and print the draft; 0 when a unit answered, 1 when none did, 2 on bad options."""
    try:
        units = parse_ranges(args.units, 0, 255)
        addresses = parse_ranges(args.addresses, 0, 65535)
        if addresses != list(range(addresses[0], addresses[-1] + 1)):
            raise ValueError(f"--addresses takes one range such as 0-127, not {args.addresses!r}")
        tables = [t.strip() for t in args.tables.split(",") if t.strip()]
        unknown = [t for t in tables if t not in TABLES]
        if unknown:
            raise ValueError(f"unknown table {unknown[0]!r}; tables are {', '.join(TABLES)}")
        timeout = parse_duration(args.timeout)
        pause = parse_duration(args.pause) if args.pause not in ("0", "0ms", "0s") else 0.0
    except ValueError as exc:
        print(f"edge-agent scan modbus: {exc}", file=sys.stderr)
        return 2
    if args.serial:
        settings = LinkSettings(
            "rtu",
            serial=args.serial,
            baudrate=args.baudrate,
            parity=args.parity,
            stopbits=args.stopbits,
            bytesize=args.bytesize,
        )
    else:
        settings = LinkSettings(args.transport, host=args.host, port=args.port)
    progress = Progress(len(units))
    try:
        found = asyncio.run(
            scan(settings, units, range(addresses[0], addresses[-1] + 1), tables, timeout, pause, progress)
        )
    except LinkDown as exc:
        progress.done()
        print(f"edge-agent scan modbus: {exc}", file=sys.stderr)
        return 1
    progress.done()
    if not found:
        print(
            f"edge-agent scan modbus: no unit answered on {settings.describe()} "
            f"(tried units {args.units}); check the address, the wiring (A/B), the baud rate and parity",
            file=sys.stderr,
        )
        return 1
    print(render_draft(settings, found, args.max_fields, args.pause if pause else None))
    return 0


async def scan(
    settings: LinkSettings,
    units: Sequence[int],
    addresses: range,
    tables: Sequence[str],
    within: float,
    pause: float,
    progress: Progress,
) -> list[UnitFindings]:
    """Find the units that answer, then their readable addresses (``within``: wait per request)."""
    link = Link(settings)
    link.pause = pause
    found: list[UnitFindings] = []
    try:
        for index, unit in enumerate(units):
            progress.show(index, f"unit {unit}")
            if not await _answers(link, unit, within):
                continue
            findings = UnitFindings(unit)
            for table in tables:
                findings.values[table] = await _readable(link, unit, table, addresses, within, findings.notes)
            found.append(findings)
            progress.found(unit)
            if (
                settings.transport == "tcp"
                and len(found) == 2
                and found[0].unit + 1 == unit
                and found[0].values == findings.values
            ):
                found.pop()
                found[0].notes.append(
                    "the device answers other unit ids the same way: it ignores the "
                    "unit id; scan stopped (use --units to force more)"
                )
                break
        progress.show(len(units), "")
    finally:
        link.close()
    return found


async def _answers(link: Link, unit: int, within: float) -> bool:
    """Whether anything answers at ``unit``: values or an exception other than 'no such unit'."""
    for table in ("holding", "input"):
        try:
            response = await link.read(unit, table, 0, 1, within)
        except LinkDown:
            raise
        except LinkError:
            return False
        if response.exception is None:
            return True
        if response.exception in _ABSENT:
            return False
    return True  # it answered both with exceptions: a device is there


async def _readable(
    link: Link, unit: int, table: str, addresses: range, within: float, notes: list[str]
) -> dict[int, int | bool]:
    """Raw values of every readable address of ``table`` within ``addresses``."""
    chunk = 125 if table not in BIT_TABLES else 2000
    values: dict[int, int | bool] = {}

    async def read(address: int, count: int) -> list[int] | list[bool] | int:
        """Values, or the exception code (0 for no answer)."""
        try:
            response = await link.read(unit, table, address, count, within)
        except LinkDown:
            raise
        except LinkError:
            return 0
        return response.values if response.exception is None else response.exception

    address, stop = addresses.start, addresses.stop
    while address < stop:
        count = min(chunk, stop - address)
        answer = await read(address, count)
        if isinstance(answer, int) and answer not in (2, 3):
            if answer != 1:
                notes.append(f"{table} {address}: " + ("no answer" if answer == 0 else f"exception {answer}"))
            break  # 1: no such table; anything else: stop probing this table
        if isinstance(answer, int) and count > 1:
            # Longest readable run from here, by bisection (a run that reads makes shorter ones read).
            low, high, best = 0, count, None
            single = await read(address, 1)
            if not isinstance(single, int):
                low, best = 1, single
                while high - low > 1:
                    middle = (low + high) // 2
                    probe = await read(address, middle)
                    if isinstance(probe, int):
                        high = middle
                    else:
                        low, best = middle, probe
            answer, count = (best, low) if best is not None else (0, 1)
        if not isinstance(answer, int):
            values.update(zip(range(address, address + count), answer, strict=True))
        address += count
    return values


def render_draft(
    settings: LinkSettings, found: Sequence[UnitFindings], max_fields: int, pause: str | None = None
) -> str:
    """The ``[[devices.modbus]]`` entries for what answered, as TOML with comments."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", settings.host or Path(settings.serial or "bus").name).strip("-.")
    blocks = [
        f"# edge-agent scan modbus: {settings.describe()}, {len(found)} unit(s) answered. A draft:",
        "# rename the fields (snake_case with the unit), set type/order/scale from the manual.",
    ]
    profiles = _profiles()
    for findings in found:
        name = f"{base}-unit-{findings.unit}"
        if not is_name(name):
            name = f"modbus-unit-{findings.unit}"
        lines = [
            "",
            f"# unit {findings.unit}: "
            + "; ".join(
                f"{table} {_ranges(sorted(values))}" for table, values in findings.values.items() if values
            )
            or f"# unit {findings.unit}: answered, but nothing in the scanned range read",
        ]
        lines += [f"# note: {note}" for note in findings.notes]
        lines += [
            f'# profile = "{p}" fits: every address it reads answered' for p in _fitting(profiles, findings)
        ]
        lines += ["[[devices.modbus]]", f'name = "{name}"']
        if settings.serial is not None:
            lines += [
                f'serial = "{settings.serial}"',
                f"baudrate = {settings.baudrate}",
                f'parity = "{settings.parity}"',
                f"stopbits = {settings.stopbits}",
                f"bytesize = {settings.bytesize}",
            ]
        else:
            if settings.transport != "tcp":
                lines.append(f'transport = "{settings.transport}"')
            lines += [f'host = "{settings.host}"', f"port = {settings.port}"]
        if pause:
            lines.append(f'pause = "{pause}"')
        lines += [f"unit = {findings.unit}", 'measurement = "modbus_device"  # what this device is']
        registers = _registers(findings, max_fields)
        if not registers:
            lines.append("# no register read; add [[devices.modbus.registers]] from the manual")
            lines += ["", "  [[devices.modbus.registers]]", '  field = "holding_0"', "  address = 0"]
        lines += registers
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _registers(findings: UnitFindings, max_fields: int) -> list[str]:
    lines: list[str] = []
    for table, values in findings.values.items():
        addresses = sorted(values)
        for address in addresses[:max_fields]:
            raw = values[address]
            if table in BIT_TABLES:
                comment = f"read {str(bool(raw)).lower()}"
            else:
                comment = f"raw {int(raw)} (0x{int(raw):04x})"
                pair = values.get(address + 1)
                if pair is not None and address % 2 == 0:
                    number = struct.unpack(">f", struct.pack(">HH", int(raw), int(pair)))[0]
                    if math.isfinite(number) and (number == 0 or 1e-3 <= abs(number) < 1e9):
                        comment += f"; float32 with the next: {number:.6g}"
            lines += [
                "",
                f"  [[devices.modbus.registers]]  # {comment}",
                f'  field = "{table}_{address}"',
                f'  table = "{table}"',
                f"  address = {address}",
            ]
        if len(addresses) > max_fields:
            lines.append(
                f"  # ... {len(addresses) - max_fields} more {table} addresses read "
                f"({_ranges(addresses[max_fields:])}); raise --max-fields to list them"
            )
    return lines


def _ranges(addresses: Sequence[int]) -> str:
    """``0-17, 52-53``."""
    spans: list[list[int]] = []
    for address in addresses:
        if spans and address == spans[-1][1] + 1:
            spans[-1][1] = address
        else:
            spans.append([address, address])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans) or "none"


def _profiles() -> dict[str, list[tuple[str, int, int]]]:
    """Bundled profiles: name -> (table, address, width) of each register they read."""
    widths = {"int64": 4, "uint64": 4, "float64": 4, "int32": 2, "uint32": 2, "float32": 2}
    profiles = {}
    for path in sorted(_BUNDLED.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            profiles[path.stem] = [
                (
                    r.get("table", "holding"),
                    int(r["address"]),
                    int(r.get("length", widths.get(r.get("type", ""), 1))),
                )
                for r in data.get("registers", [])
            ]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return profiles


def _fitting(profiles: dict[str, list[tuple[str, int, int]]], findings: UnitFindings) -> list[str]:
    def fits(registers: list[tuple[str, int, int]]) -> bool:
        # Every address the profile reads answered, and the profile covers each table that
        # answered up to near its end (a short profile "fits" any bigger device otherwise).
        if not registers or not all(
            all(a in findings.values.get(table, {}) for a in range(address, address + width))
            for table, address, width in registers
        ):
            return False
        ends: dict[str, int] = {}
        for table, address, width in registers:
            ends[table] = max(ends.get(table, 0), address + width)
        return all(
            table in ends and ends[table] >= max(values) + 1 - 16
            for table, values in findings.values.items()
            if values
        )

    return [name for name, registers in profiles.items() if fits(registers)]


def parse_ranges(text: str, low: int, high: int) -> list[int]:
    """``1-10,20`` -> [1..10, 20], within low..high."""
    numbers: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise ValueError(f"{text!r} is not a list of numbers and ranges such as 1-10,20")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if not low <= first <= last <= high:
            raise ValueError(f"{part.strip()!r} is outside {low}-{high} (or backwards)")
        numbers += range(first, last + 1)
    return sorted(set(numbers))


class Progress:
    """A progress bar on stderr when it is a terminal; found units are always said."""

    def __init__(self, total: int, write: Callable[[str], object] | None = None) -> None:
        self.total = total
        self.tty = sys.stderr.isatty()
        self._write = write or sys.stderr.write

    def show(self, done: int, what: str) -> None:
        """Redraw the bar."""
        if self.tty:
            width = 30
            filled = width * done // max(1, self.total)
            self._write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {what:<12}")

    def found(self, unit: int) -> None:
        """Say that a unit answered."""
        self._write(("\r" + " " * 60 + "\r" if self.tty else "") + f"unit {unit} answers\n")

    def done(self) -> None:
        """End the bar's line."""
        if self.tty:
            self._write("\n")
