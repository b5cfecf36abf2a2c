"""Probe an SNMP agent (read-only) and print a draft [[devices.snmp]] entry to paste.

Reads the system group and the interface tables (IF-MIB), looks for HOST-RESOURCES-MIB
and UPS-MIB, and prints what it found as comments above an entry that uses the matching
profiles. Credentials are given as for the agent; the draft never holds a secret: it
points at the files they live in. `edge-agent check` accepts the draft as printed once
those files exist.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from campus_core.commandline import first_error
from campus_core.units import parse_duration

from .config import SnmpDevice
from .convert import Raw, tag_converter
from .mibs import Oid, mibs
from .reads import Anomalies, get_values, walk
from .session import Session, SnmpError

SYSTEM = ("sysName", "sysDescr", "sysObjectID", "sysUpTime", "sysLocation")
INTERFACE_COLUMNS = ("ifDescr", "ifName", "ifAlias", "ifOperStatus", "ifHighSpeed", "ifSpeed", "ifHCInOctets")
PROBES = {"host-resources": "HOST-RESOURCES-MIB::hrSystemUptime.0", "ups-mib": "UPS-MIB::upsBatteryStatus.0"}
SECRETS = "/etc/edge-agent/secrets"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``edge-agent scan snmp``."""
    parser.add_argument("--host", required=True, help="IP address (or name) of the device")
    parser.add_argument("--port", type=int, default=161, help="UDP port (default 161)")
    parser.add_argument("--version", choices=["1", "2c", "3"], default="2c", help="SNMP version (default 2c)")
    parser.add_argument("--community", help="v1/v2c community (default public); prefer --community-file")
    parser.add_argument("--community-file", type=Path, help="file holding the v1/v2c community")
    parser.add_argument("--user", help="SNMPv3 user")
    parser.add_argument(
        "--auth",
        choices=["md5", "sha", "sha224", "sha256", "sha384", "sha512"],
        help="SNMPv3 authentication protocol",
    )
    parser.add_argument("--auth-key-file", type=Path, help="file holding the SNMPv3 auth passphrase")
    parser.add_argument(
        "--priv",
        choices=["des", "aes128", "aes192", "aes256", "aes192c", "aes256c"],
        help="SNMPv3 privacy protocol",
    )
    parser.add_argument("--priv-key-file", type=Path, help="file holding the SNMPv3 priv passphrase")
    parser.add_argument("--name", help="device name for the draft (default: from sysName)")
    parser.add_argument("--timeout", default="2s", help="wait per request (default 2s)")
    parser.add_argument("--retries", type=int, default=1, help="retries per request (default 1)")


def run(args: argparse.Namespace) -> int:
    """Scan and print the draft; 0 when the device answered, 1 when not, 2 on bad options."""
    settings: dict[str, Any] = {
        "name": "scan",
        "host": args.host,
        "port": args.port,
        "version": args.version,
        "community": args.community,
        "community_file": args.community_file,
        "user": args.user,
        "auth": args.auth,
        "auth_key_file": args.auth_key_file,
        "priv": args.priv,
        "priv_key_file": args.priv_key_file,
        "retries": args.retries,
        "profile": "system",
    }
    try:
        settings["timeout"] = parse_duration(args.timeout)
        device = SnmpDevice(**{k: v for k, v in settings.items() if v is not None})
    except (ValueError, ValidationError) as exc:
        print(f"edge-agent scan snmp: {first_error(exc)}", file=sys.stderr)
        return 2
    try:
        found = asyncio.run(_scan(device))
    except SnmpError as exc:
        print(f"edge-agent scan snmp: {exc.reason}", file=sys.stderr)
        return 1
    sys.stdout.write(render(device, found, args.name))
    return 0


async def _scan(device: SnmpDevice) -> dict[str, Any]:
    session = Session(device)
    registry = mibs()
    anomalies = Anomalies()
    try:
        await session.open()
        scalars = {name: registry.resolve(f"{name}.0").oid for name in SYSTEM}
        probes = {profile: registry.resolve(text).oid for profile, text in PROBES.items()}
        values = await get_values(
            session, [*scalars.values(), *probes.values()], device.max_varbinds, anomalies
        )
        columns = {name: registry.resolve(name).oid for name in INTERFACE_COLUMNS}
        rows = await walk(
            session,
            list(columns.values()),
            bulk=device.version != "1",
            max_repetitions=device.max_repetitions,
            max_varbinds=device.max_varbinds,
            max_rows=10_000,
            anomalies=anomalies,
        )
    finally:
        session.close()

    def raw(oid: Oid) -> Raw | None:
        sample = values.get(oid)
        return None if sample is None or sample[0].missing else sample[0]

    return {
        "system": {name: raw(oid) for name, oid in scalars.items()},
        "profiles": [p for p, oid in probes.items() if raw(oid) is not None],
        "interfaces": {
            name: {index: sample[0] for index, sample in rows[oid].items()} for name, oid in columns.items()
        },
    }


def render(device: SnmpDevice, found: dict[str, Any], name: str | None) -> str:
    """The report as TOML comments, then the draft entry."""
    system: dict[str, Raw | None] = found["system"]
    text = tag_converter("auto")
    sys_name = text(system["sysName"]) if system["sysName"] else None
    uptime = system["sysUpTime"].number if system["sysUpTime"] else None
    interfaces: dict[str, dict[Oid, Raw]] = found["interfaces"]
    oper = interfaces["ifOperStatus"]
    lines = [f"# {sys_name or '(no sysName)'} at {device.host}:{device.port}, SNMP v{device.version}"]
    if system["sysDescr"]:
        lines.append(f"# {text(system['sysDescr'])}")
    if system["sysObjectID"]:
        lines.append(f"# sysObjectID {text(system['sysObjectID'])}")
    if uptime is not None:
        lines.append(f"# up {_duration(uptime / 100)}")
    if system["sysLocation"]:
        lines.append(f"# location: {text(system['sysLocation'])}")
    hc = bool(interfaces["ifHCInOctets"])
    up = sum(1 for raw in oper.values() if raw.number == 1)
    counters = "yes" if hc else "no (32-bit, wraps)"
    lines.append(f"# {len(oper)} interfaces ({up} up); 64-bit counters: {counters}")
    for index in list(oper)[:60]:
        label = _first(interfaces, index, "ifName", "ifDescr")
        alias = _first(interfaces, index, "ifAlias")
        speed = _speed(interfaces, index)
        state = tag_converter("name", {1: "up", 2: "down", 7: "lowerLayerDown"})(oper[index]) or "?"
        lines.append(
            f"#   {'.'.join(map(str, index)):>6}  {label:<24} {state:<6} {speed:>10}"
            + (f"  {alias!r}" if alias else "")
        )
    if len(oper) > 60:
        lines.append(f"#   ... and {len(oper) - 60} more")
    profiles = ["system", "if-mib", *found["profiles"]] if oper else ["system", *found["profiles"]]
    for extra in found["profiles"]:
        lines.append(f"# answers {PROBES[extra].split('::')[0]}: profile {extra!r} added")
    lines += ["", "[[devices.snmp]]", *_entry(device, name or _name(sys_name, device.host), profiles)]
    return "\n".join(lines) + "\n"


def _entry(device: SnmpDevice, name: str, profiles: list[str]) -> list[str]:
    entry = [
        f'name = "{name}"',
        f'host = "{device.host}"',
        f"port = {device.port}",
        f'version = "{device.version}"',
    ]
    if device.version == "3":
        entry.append(f'user = "{device.user}"')
        if device.auth:
            entry += [f'auth = "{device.auth}"', f'auth_key_file = "{device.auth_key_file}"']
        if device.priv:
            entry += [f'priv = "{device.priv}"', f'priv_key_file = "{device.priv_key_file}"']
    elif device.community_file is not None:
        entry.append(f'community_file = "{device.community_file}"')
    else:
        entry.append(f'community_file = "{SECRETS}/{name}-community"   # put the community in this file')
    entry += [
        f"profile = [{', '.join(repr(p).replace(chr(39), chr(34)) for p in profiles)}]",
        'interval = "30s"',
        'tags = { building = "", room = "" }   # where it is',
    ]
    return entry


def _first(interfaces: dict[str, dict[Oid, Raw]], index: Oid, *columns: str) -> str:
    for column in columns:
        raw = interfaces[column].get(index)
        label = tag_converter("text")(raw) if raw is not None and not raw.missing else None
        if label:
            return label
    return ""


def _speed(interfaces: dict[str, dict[Oid, Raw]], index: Oid) -> str:
    high = interfaces["ifHighSpeed"].get(index)
    bps = high.number * 1_000_000 if high is not None and high.number else None
    low = interfaces["ifSpeed"].get(index)
    bps = bps or (low.number if low is not None else None)
    if not bps:
        return ""
    for unit, size in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= size:
            return f"{bps / size:g} {unit}"
    return f"{bps} bit/s"


def _name(sys_name: str | None, host: str) -> str:
    candidate = re.sub(r"[^A-Za-z0-9_.-]+", "-", (sys_name or "").split(".")[0]).strip("-._")
    return candidate or re.sub(r"[^A-Za-z0-9_.-]+", "-", host).strip("-._") or "snmp-device"


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    return f"{days}d {hours}h {rest // 60}m" if days else f"{hours}h {rest // 60}m {rest % 60}s"
