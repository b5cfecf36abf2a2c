"""``edge-agent import points``: the integrator's point table in, a device profile out.

``edge-agent import points FILE --protocol P --out PROFILE.toml`` writes the profile only when
every row is good and the profile passes the checks of ``edge-agent check``; otherwise it lists
every problem (file, sheet, row, column, value) and writes nothing. ``--template FILE`` writes
a blank template (CSV or XLSX) with an example row to fill in. BACnet devices come as EDE
files (``--format ede``, or found by their header), or as the template.
"""

from __future__ import annotations

import argparse
import codecs
import sys
from collections import Counter
from pathlib import Path

from ..pointtable import Options, PointTableError, import_points
from ..pointtable.draft import WORD_ORDERS
from ..pointtable.export import example, write
from ..pointtable.formats import FORMATS

HELP = "turn a point table (CSV, XLSX, Kepware export, BACnet EDE) into a device profile"
PROTOCOLS = ("modbus", "opcua", "bacnet")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """points FILE --protocol P --out PROFILE.toml, or points --template FILE."""
    parser.add_argument("what", choices=["points"], help="what to import: a point table")
    parser.add_argument(
        "file", nargs="?", type=Path, help="the point table: .csv, .xlsx, a Kepware export, a BACnet EDE file"
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, help="the protocol the device speaks")
    parser.add_argument(
        "--format", choices=FORMATS, help="the table's format (default: from its extension and header row)"
    )
    parser.add_argument(
        "--order",
        choices=WORD_ORDERS,
        default="ABCD",
        help="word order of 32- and 64-bit values where the table gives none (default ABCD, high word first)",
    )
    parser.add_argument("--measurement", help="the profile's measurement, e.g. classroom_env")
    parser.add_argument("--sheet", help="the workbook's sheet to read (default: the first with a header row)")
    parser.add_argument(
        "--device",
        type=int,
        metavar="INSTANCE",
        help="BACnet EDE: the device instance whose objects to import, when the file lists several",
    )
    parser.add_argument(
        "--encoding",
        help="a text table's encoding when it is neither UTF-8 nor GB18030, e.g. cp1252 (default: found)",
    )
    parser.add_argument("--out", type=Path, help="the profile to write, e.g. profiles/a301-iaq.toml")
    parser.add_argument("--force", action="store_true", help="overwrite --out (or --template) if it exists")
    parser.add_argument(
        "--template", type=Path, metavar="FILE", help="write a blank template (.csv or .xlsx) instead"
    )
    parser.add_argument(
        "--lang", choices=["en", "zh"], default="en", help="--template: English or Chinese headers"
    )


def _usage(message: str) -> int:
    print(f"edge-agent import: {message}", file=sys.stderr)
    return 2


def _exists(path: Path, force: bool) -> bool:
    if path.exists() and not force:
        print(f"edge-agent import: {path} exists; give --force to overwrite it", file=sys.stderr)
        return True
    return False


def run(args: argparse.Namespace) -> int:
    """Write the profile (or the template); 1 with every problem listed, 2 on a usage error."""
    if args.template is not None:
        if args.file is not None:
            return _usage("give a FILE to import or --template FILE to write, not both")
        return _template(args.template, args.protocol or "modbus", args.lang, args.force)
    if args.file is None or args.protocol is None or args.out is None:
        return _usage("import points FILE --protocol modbus|opcua|bacnet --out PROFILE.toml")
    if args.out.suffix != ".toml":
        return _usage(f"--out {args.out}: a profile is a .toml file, e.g. profiles/a301-iaq.toml")
    if args.encoding is not None:
        try:
            codecs.lookup(args.encoding)
        except LookupError:
            return _usage(f"--encoding {args.encoding}: not an encoding Python knows (e.g. cp1252, gb18030)")
    if _exists(args.out, args.force):
        return 1
    options = Options(
        args.protocol,
        sheet=args.sheet,
        order=args.order,
        measurement=args.measurement,
        device=args.device,
        encoding=args.encoding,
    )
    try:
        imported = import_points(args.file, options, args.out.stem, args.format)
    except PointTableError as exc:
        print(f"edge-agent import: {exc}\nnothing was written", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(imported.text, encoding="utf-8")
    print(
        f"wrote {args.out}: {imported.points} point(s) from {args.file} ({imported.format}), "
        f"measurement {imported.measurement}, kind {imported.kind}"
    )
    if imported.left_out:
        counted = ", ".join(f"{n} {what}" for what, n in Counter(imported.left_out).most_common())
        print(f"left out {len(imported.left_out)} object(s) that hold no value to poll: {counted}")
    print(
        f'use it with profile = "{args.out.stem}" in a [[devices.{args.protocol}]] entry, the file in '
        "profiles/ beside agent.toml; then edge-agent test polls the device once"
    )
    return 0


def _template(path: Path, protocol: str, lang: str, force: bool) -> int:
    if path.suffix.lower() not in (".csv", ".xlsx"):
        return _usage(f"--template {path}: name a .csv or .xlsx file")
    if _exists(path, force):
        return 1
    write(example(protocol, lang), path, "xlsx" if path.suffix.lower() == ".xlsx" else "csv")
    print(
        f"wrote {path}: fill in one row per point, then edge-agent import points {path} --protocol {protocol}"
    )
    return 0
