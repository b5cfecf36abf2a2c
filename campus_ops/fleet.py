"""``campus-ops fleet``: one line per school's gateway, worst first, from the store.

It reads the gateways' own ``edge_agent`` points (docs/schema.md) through the store's PromQL
HTTP API: the last value of each field within ``--lookback``, and when each gateway last
wrote. A school of the roster that never wrote is ``missing``; one quiet longer than
``--stale`` is ``silent``; one with devices down, a backlog older than ``--backlog``, drops,
dead letters or sink errors is ``degraded``. Exit 1 when any school is silent or missing,
2 when the store does not answer.

Devices up and down are their liveness (``alive`` of the ``edge_agent_device`` points the
gateway wrote with its last ``edge_agent`` point): a device that reports on change, or a
subscription with nothing new, is quiet and up; each sensor behind a topic wildcard counts
by itself, so one dead sensor shows. A gateway whose agent predates ``alive`` is counted
by its own ``devices_ok`` and ``devices_failed``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from campus_core.units import parse_duration

from .roster import RosterError, load_roster
from .store import Store, StoreError

HELP = "one line per school's gateway, worst first: silent, missing, degraded, ok"

#: The ``edge_agent`` fields the view shows (``config_version`` when the agent sends it).
FIELDS = (
    "uptime_s",
    "devices",
    "devices_ok",
    "devices_failed",
    "buffer_points",
    "buffer_oldest_age_s",
    "points_dropped",
    "points_dead_lettered",
    "sink_failures",
    "config_version",
)
#: Worst first.
ORDER = {"missing": 0, "silent": 1, "degraded": 2, "ok": 3}
#: How far back the devices' own points are read: a gateway writes them every interval.
DEVICES_WINDOW = "10m"


@dataclass
class Gateway:
    """What the store last heard from one school's gateway."""

    school: str
    campus: str | None = None
    state: str = "ok"
    last_seen: float | None = None
    age_s: float | None = None
    version: str | None = None
    config_version: str | None = None
    devices_up: int | None = None
    devices_down: int | None = None
    points_waiting: int | None = None
    oldest_waiting_s: float | None = None
    dropped: int | None = None
    dead_lettered: int | None = None
    sink_errors: int | None = None
    problems: list[str] = field(default_factory=list)


def gather(store: Store, lookback: str) -> dict[tuple[str, str], Gateway]:
    """Every gateway that wrote self-metrics within ``lookback``, by (school, campus)."""
    gateways: dict[tuple[str, str], Gateway] = {}
    seen: dict[tuple[str, str], float] = {}
    for metric, value in store.query(f"tlast_over_time(edge_agent_uptime_s[{lookback}])"):
        key = (metric.get("school", ""), metric.get("campus", ""))
        if value >= seen.get(key, 0.0):
            seen[key] = value
            gateway = gateways.setdefault(key, Gateway(school=key[0], campus=key[1] or None))
            gateway.last_seen = value
            gateway.version = metric.get("version")
            gateway.config_version = metric.get("config_version", gateway.config_version)
    names = "|".join(FIELDS)
    latest: dict[tuple[str, str, str], float] = {}
    for metric, value in store.query(f'last_over_time({{__name__=~"edge_agent_({names})"}}[{lookback}])'):
        key = (metric.get("school", ""), metric.get("campus", ""))
        owner = gateways.get(key)
        # A restart with a new version leaves the old series behind: keep the current one's values.
        if owner is None or metric.get("version") != owner.version:
            continue
        latest[(*key, metric["__name__"])] = value
    for (school, campus, name), value in latest.items():
        _set(gateways[(school, campus)], name.removeprefix("edge_agent_"), value)
    _liveness(store, gateways)
    return gateways


def _liveness(store: Store, gateways: dict[tuple[str, str], Gateway]) -> None:
    """Devices up and down from ``alive`` in each gateway's last report, where it has one."""
    window = DEVICES_WINDOW
    alive = {_series(m): v for m, v in store.query(f"last_over_time(edge_agent_device_alive[{window}])")}
    # The device's own point carries ``up``; a sensor's behind a wildcard does not.
    own = {_series(m) for m, _ in store.query(f"last_over_time(edge_agent_device_up[{window}])")}
    # (school, campus) -> device -> (its own state, its sensors' states)
    found: dict[tuple[str, str], dict[str, tuple[list[float], list[float]]]] = {}
    for metric, at in store.query(f"tlast_over_time(edge_agent_device_alive[{window}])"):
        key = (metric.get("school", ""), metric.get("campus", ""))
        gateway, series = gateways.get(key), _series(metric)
        # Written with the gateway's last edge_agent point, at the same millisecond.
        if gateway is None or gateway.last_seen is None or abs(at - gateway.last_seen) > 0.001:
            continue
        if series in alive:
            device = found.setdefault(key, {}).setdefault(metric.get("device", ""), ([], []))
            device[0 if series in own else 1].append(alive[series])
    for key, devices in found.items():
        # A wildcard device counts as its sensors; any other device as itself.
        states = [state for itself, sensors in devices.values() for state in (sensors or itself)]
        up = sum(1 for state in states if state >= 1)
        gateways[key].devices_up, gateways[key].devices_down = up, len(states) - up


def _series(metric: dict[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset((k, v) for k, v in metric.items() if k != "__name__")


def _set(gateway: Gateway, name: str, value: float) -> None:
    if name == "devices_ok":
        gateway.devices_up = int(value)
    elif name == "devices_failed":
        gateway.devices_down = int(value)
    elif name == "buffer_points":
        gateway.points_waiting = int(value)
    elif name == "buffer_oldest_age_s":
        gateway.oldest_waiting_s = value
    elif name == "points_dropped":
        gateway.dropped = int(value)
    elif name == "points_dead_lettered":
        gateway.dead_lettered = int(value)
    elif name == "sink_failures":
        gateway.sink_errors = int(value)
    elif name == "config_version":
        gateway.config_version = f"{value:g}"


def judge(
    gateways: dict[tuple[str, str], Gateway],
    roster: list[str] | None,
    *,
    now: float,
    stale_s: float,
    backlog_s: float,
) -> list[Gateway]:
    """The gateways with their state, roster schools that never wrote as ``missing``, worst first."""
    out = list(gateways.values())
    for gateway in out:
        assert gateway.last_seen is not None
        gateway.age_s = max(0.0, now - gateway.last_seen)
        if gateway.age_s > stale_s:
            gateway.problems.append(f"quiet for {_age(gateway.age_s)}")
            gateway.state = "silent"
            continue
        if gateway.devices_down:
            gateway.problems.append(f"{gateway.devices_down} device(s) down")
        if (gateway.oldest_waiting_s or 0) > backlog_s:
            gateway.problems.append(f"backlog {_age(gateway.oldest_waiting_s or 0)} old")
        if gateway.dropped:
            gateway.problems.append(f"{gateway.dropped} point(s) dropped")
        if gateway.dead_lettered:
            gateway.problems.append(f"{gateway.dead_lettered} point(s) dead-lettered")
        if gateway.sink_errors:
            gateway.problems.append(f"{gateway.sink_errors} sink error(s)")
        gateway.state = "degraded" if gateway.problems else "ok"
    reported = {gateway.school for gateway in out}
    for school in roster or []:
        if school not in reported:
            out.append(Gateway(school=school, state="missing", problems=["never reported"]))
    return sorted(out, key=lambda g: (ORDER[g.state], -(g.age_s or 0), g.school, g.campus or ""))


def _age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _n(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def line(gateway: Gateway) -> str:
    """One gateway as the operator reads it."""
    name = f"{gateway.school}/{gateway.campus}" if gateway.campus else gateway.school
    if gateway.state == "missing":
        return f"{name:<20} {'missing':<9} never reported"
    seen = f"seen {_age(gateway.age_s or 0)} ago"
    config = f"  config {gateway.config_version}" if gateway.config_version else ""
    waiting = f"waiting {_n(gateway.points_waiting)}" + (
        f" (oldest {_age(gateway.oldest_waiting_s)})" if gateway.oldest_waiting_s else ""
    )
    return (
        f"{name:<20} {gateway.state:<9} {seen:<14} v{gateway.version or '?'}{config}  "
        f"devices {_n(gateway.devices_up)} up/{_n(gateway.devices_down)} down  {waiting}  "
        f"dropped {_n(gateway.dropped)}  dead {_n(gateway.dead_lettered)}  "
        f"sink errors {_n(gateway.sink_errors)}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--store URL [--roster FILE] [--stale 5m] [--backlog 15m] [--lookback 30d] [--json]``."""
    parser.add_argument("--store", required=True, help="the store's URL (VictoriaMetrics, PromQL API)")
    parser.add_argument("--roster", type=Path, help="the roster: schools that never reported show as missing")
    parser.add_argument(
        "--stale", default="5m", help="quiet longer than this is silent (default %(default)s)"
    )
    parser.add_argument(
        "--backlog",
        default="15m",
        help="oldest waiting point older than this is degraded (default %(default)s)",
    )
    parser.add_argument(
        "--lookback", default="30d", help="how far back to look for gateways (default %(default)s)"
    )
    parser.add_argument("--timeout", default="10s", help="per request to the store (default %(default)s)")
    parser.add_argument("--token-file", type=Path, help="file with a bearer token to read the store with")
    parser.add_argument("--json", action="store_true", help='print {"schools": [...]} instead of lines')


def run(args: argparse.Namespace) -> int:
    """Print the view; 1 when a school is silent or missing, 2 when the store or roster fails."""
    try:
        stale_s, backlog_s, timeout_s = (parse_duration(v) for v in (args.stale, args.backlog, args.timeout))
        lookback_s = parse_duration(args.lookback)
    except ValueError as exc:
        print(f"campus-ops fleet: {exc}", file=sys.stderr)
        return 2
    try:
        roster = load_roster(args.roster).codes() if args.roster else None
        token = args.token_file.read_text(encoding="utf-8").strip() if args.token_file else None
        store = Store(args.store, timeout=timeout_s, token=token)
        gateways = gather(store, f"{int(lookback_s)}s")
    except (RosterError, StoreError) as exc:
        print(f"campus-ops fleet: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"campus-ops fleet: cannot read {exc.filename!r}: {exc.strerror}", file=sys.stderr)
        return 2
    view = judge(gateways, roster, now=time.time(), stale_s=stale_s, backlog_s=backlog_s)
    if args.json:
        print(json.dumps({"schools": [asdict(gateway) for gateway in view]}, indent=2))
    else:
        for gateway in view:
            print(line(gateway))
        if not view:
            print(f"no gateway has written to {args.store} in the last {args.lookback}")
    return 1 if any(g.state in ("silent", "missing") for g in view) else 0
