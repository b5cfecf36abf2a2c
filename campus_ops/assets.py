"""``campus-ops assets``: the city's asset register, from what every school's gateway wrote.

The agents write one ``asset_info`` series per device (docs/schema.md): its identity as
tags, and ``asset_first_seen_s`` / ``asset_last_seen_s`` beside it, repeated at every
probe (daily by default, and at every reconnect). The register is the last of those
within ``--within`` for each device; when a device's identity changed, its newest series
is the one shown. ``--changes`` lists the ``asset_changed`` events of ``--since``;
``--find 'firmware=~3\\.3\\..*'`` keeps the devices whose current identity matches (PromQL's
matchers: ``=``, ``!=``, ``=~``, ``!~``, regexes anchored). Exit 2 when the store does not
answer. The console's register page (``/assets``) shows the same rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from campus_core.identity import KEYS
from campus_core.units import parse_duration

from .store import Store, StoreError, promql_string

HELP = "the city's asset register: every school's devices, their vendor, model, firmware and serial"

#: The register's columns, in order (CSV and the text view).
COLUMNS = (
    "school",
    "device",
    "room",
    "asset_id",
    "protocol",
    "vendor",
    "model",
    "firmware",
    "serial",
    "first_seen",
    "last_seen",
)
#: Labels that say what a device is, not which device: left out of an asset's key.
_IDENTITY_LABELS = frozenset(KEYS) | {"source", "protocol", "address", "__name__"}
_MATCHER = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*)$", re.DOTALL)
_OPERATORS = {"=", "!=", "=~", "!~"}


@dataclass
class Asset:
    """One device of one school, as the register shows it."""

    school: str
    device: str
    campus: str | None = None
    building: str | None = None
    room: str | None = None
    asset_id: str | None = None
    protocol: str | None = None
    address: str | None = None
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    source: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    #: Everything else the device states (sysDescr, BuildInfo's server, the gateway's kernel...).
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """One identity value that changed on one device."""

    school: str
    device: str
    what: str
    old: str
    new: str
    time: str
    room: str | None = None
    asset_id: str | None = None


@dataclass(frozen=True)
class Matcher:
    """One ``--find`` condition: a label, PromQL's operator, a value or an anchored regex."""

    label: str
    operator: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``firmware=~3\\.3\\..*``; ValueError saying how to write it."""
        found = _MATCHER.match(text)
        if found is None:
            raise ValueError(
                f"--find {text!r}: write LABEL=VALUE, LABEL!=VALUE, LABEL=~REGEX or LABEL!~REGEX, "
                "e.g. --find 'firmware=~3\\.3\\..*' or --find vendor=Eastron"
            )
        label, operator, value = found.group(1), found.group(2), found.group(3).strip().strip("'\"")
        if "~" in operator:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"--find {text!r}: {value!r} is not a regular expression ({exc})") from None
        return cls(label, operator, value)

    def matches(self, asset: Asset) -> bool:
        """Whether the asset's current value of the label matches (absent counts as empty)."""
        value = _value(asset, self.label)
        if self.operator == "=":
            return value == self.value
        if self.operator == "!=":
            return value != self.value
        hit = re.fullmatch(self.value, value) is not None
        return hit if self.operator == "=~" else not hit


def _value(asset: Asset, label: str) -> str:
    known = asdict(asset)
    if label in known and label != "details":
        return str(known[label] or "")
    return asset.details.get(label, "")


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _selector(school: str | None) -> str:
    return f"{{school={promql_string(school)}}}" if school else ""


def register(store: Store, school: str | None, within: str) -> list[Asset]:
    """Every device's current identity: the newest ``asset_info`` series of each within ``within``."""
    where = _selector(school)
    last = store.query(f"last_over_time(asset_last_seen_s{where}[{within}])")
    first = {
        _series(labels): value
        for labels, value in store.query(f"last_over_time(asset_first_seen_s{where}[{within}])")
    }
    newest: dict[frozenset[tuple[str, str]], tuple[float, dict[str, str]]] = {}
    for labels, seen in last:
        key = frozenset((k, v) for k, v in labels.items() if k not in _IDENTITY_LABELS)
        if key not in newest or seen >= newest[key][0]:
            newest[key] = (seen, labels)
    assets = []
    for seen, labels in newest.values():
        first_seen = first.get(_series(labels))
        assets.append(_asset(labels, first_seen, seen))
    return sorted(assets, key=lambda a: (a.school, a.device.startswith("@"), a.device, a.room or ""))


def _series(labels: dict[str, str]) -> frozenset[tuple[str, str]]:
    """A series' labels without its name (the store may keep the name through last_over_time)."""
    return frozenset((key, value) for key, value in labels.items() if key != "__name__")


def _asset(labels: dict[str, str], first_seen: float | None, last_seen: float) -> Asset:
    own = set(Asset.__dataclass_fields__) - {"details", "first_seen", "last_seen"}
    asset = Asset(school=labels.get("school", ""), device=labels.get("device", ""))
    for key, value in labels.items():
        if key in own:
            setattr(asset, key, value)
        elif key in KEYS:
            asset.details[key] = value
    asset.first_seen = _iso(first_seen) if first_seen else None
    asset.last_seen = _iso(last_seen)
    return asset


def changes(store: Store, school: str | None, since_s: float, now: float | None = None) -> list[Change]:
    """Every ``asset_changed`` event of the last ``since_s`` seconds, oldest first."""
    school_matcher = f",school={promql_string(school)}" if school else ""
    match = f'edge_agent_event_changes{{event="asset_changed"{school_matcher}}}'
    start = (now if now is not None else time.time()) - since_s
    found = []
    for labels, samples in store.export(match, start):
        for at, _ in samples:
            if at >= start:
                found.append(
                    Change(
                        labels.get("school", ""),
                        labels.get("device", ""),
                        labels.get("what", ""),
                        labels.get("old", ""),
                        labels.get("new", ""),
                        _iso(at),
                        labels.get("room"),
                        labels.get("asset_id"),
                    )
                )
    return sorted(found, key=lambda c: (c.time, c.school, c.device, c.what))


def as_csv(assets: list[Asset]) -> str:
    """The register as CSV with a header row (the columns of :data:`COLUMNS`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for asset in assets:
        writer.writerow([_value(asset, column) for column in COLUMNS])
    return out.getvalue()


def as_lines(assets: list[Asset]) -> str:
    """The register as aligned columns for a terminal."""
    rows = [[column.replace("_", " ").upper() for column in COLUMNS]]
    rows += [[_value(asset, column) or "-" for column in COLUMNS] for asset in assets]
    widths = [min(32, max(len(row[i]) for row in rows)) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell[:width].ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--store URL [--school CODE] [--json|--csv] [--changes [--since 7d]] [--find EXPR]``."""
    parser.add_argument("--store", required=True, help="the store's URL (VictoriaMetrics, PromQL API)")
    parser.add_argument("--school", help="one school's devices only (its code, e.g. sh-031)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help='print {"assets": [...]} (or {"changes": [...]})')
    output.add_argument("--csv", action="store_true", help="print CSV with a header row")
    parser.add_argument("--changes", action="store_true", help="list the identity changes instead")
    parser.add_argument("--since", default="7d", help="--changes: how far back (default %(default)s)")
    parser.add_argument(
        "--find",
        action="append",
        default=[],
        metavar="EXPR",
        help="keep devices whose identity matches, e.g. 'firmware=~3\\.3\\..*' (repeat: all must match)",
    )
    parser.add_argument(
        "--within",
        default="3d",
        help="a device shows when its gateway reported it this recently (default %(default)s; "
        "the agents repeat every identity daily)",
    )
    parser.add_argument("--timeout", default="10s", help="per request to the store (default %(default)s)")
    parser.add_argument("--token-file", type=Path, help="file with a bearer token to read the store with")


def run(args: argparse.Namespace) -> int:
    """Print the register or its changes; 2 when the input is wrong or the store does not answer."""
    try:
        timeout_s, since_s, within_s = (parse_duration(v) for v in (args.timeout, args.since, args.within))
        finds = [Matcher.parse(text) for text in args.find]
        token = args.token_file.read_text(encoding="utf-8").strip() if args.token_file else None
    except ValueError as exc:
        print(f"campus-ops assets: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"campus-ops assets: cannot read {exc.filename!r}: {exc.strerror}", file=sys.stderr)
        return 2
    store = Store(args.store, timeout=timeout_s, token=token)
    try:
        if args.changes:
            return _print_changes(changes(store, args.school, since_s), args)
        found = register(store, args.school, f"{int(within_s)}s")
        assets = [asset for asset in found if all(f.matches(asset) for f in finds)]
    except StoreError as exc:
        print(f"campus-ops assets: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"assets": [asdict(asset) for asset in assets]}, indent=2, ensure_ascii=False))
    elif args.csv:
        sys.stdout.write(as_csv(assets))
    else:
        print(as_lines(assets))
        schools = sorted({asset.school for asset in assets})
        scope = f" matching {' and '.join(args.find)}" if finds else ""
        named = f": {', '.join(schools)}" if finds else ""
        print(f"{len(assets)} device(s){scope} at {len(schools)} school(s){named}")
    return 0


def _print_changes(found: list[Change], args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps({"changes": [asdict(change) for change in found]}, indent=2, ensure_ascii=False))
    elif args.csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["time", "school", "device", "what", "old", "new"])
        for change in found:
            writer.writerow([change.time, change.school, change.device, change.what, change.old, change.new])
        sys.stdout.write(out.getvalue())
    else:
        for change in found:
            where = f"{change.school}/{change.device}"
            print(f"{change.time}  {where}  {change.what}: {change.old} -> {change.new}")
        print(f"{len(found)} change(s) in the last {args.since}")
    return 0
