"""``edge-agent export points``: a device profile back into the point table template (CSV or XLSX).

Importing the table again gives the same profile, so a school can keep its device models as
tables its integrators read, and a bundled profile (``sdm630``) can be the start of a new one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config.loader import BUNDLED_PROFILES
from ..pointtable.export import ExportError, csv_text, load_profile, template_of, write

HELP = "write a device profile as a point table (CSV or XLSX)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """points PROFILE [--format csv|xlsx] [--out FILE]."""
    parser.add_argument("what", choices=["points"], help="what to export: a profile's points")
    parser.add_argument("profile", help="a profile file, or the name of a bundled profile (sdm630)")
    parser.add_argument("--format", choices=["csv", "xlsx"], help="default: from --out's extension, else csv")
    parser.add_argument("--out", type=Path, help="the file to write (default: CSV on stdout)")
    parser.add_argument("--lang", choices=["en", "zh"], default="en", help="English or Chinese headers")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")


def run(args: argparse.Namespace) -> int:
    """Write the table; 1 when the profile cannot be read or is no point table, 2 on a usage error."""
    out: Path | None = args.out
    format = args.format or ("xlsx" if out is not None and out.suffix.lower() == ".xlsx" else "csv")
    if format == "xlsx" and out is None:
        print("edge-agent export: an XLSX workbook needs --out FILE.xlsx", file=sys.stderr)
        return 2
    if out is not None and out.exists() and not args.force:
        print(f"edge-agent export: {out} exists; give --force to overwrite it", file=sys.stderr)
        return 1
    try:
        path, data, text = load_profile(args.profile, BUNDLED_PROFILES)
        template = template_of(data, text, args.lang)
    except ExportError as exc:
        print(f"edge-agent export: {args.profile}: {exc}", file=sys.stderr)
        return 1
    if out is None:
        sys.stdout.write(csv_text(template))
        return 0
    write(template, out, format)
    print(f"wrote {out}: {len(template.rows)} points of {path}", file=sys.stderr)
    return 0
