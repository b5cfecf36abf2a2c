"""Ask BACnet devices what they are (read-only) and print draft ``[[devices.bacnet]]`` entries.

``edge-agent scan bacnet HOST[:PORT]`` reads the device object (vendor, model, firmware,
object list), then each object's name, units, present value, status flags and reliability,
in as few ReadPropertyMultiple requests as the device allows, and prints an entry with one
object per number, field names made of the object's name and the unit suffix its units
lead to (``SA-STATIC`` in pascals -> ``sa_static_pa``). Objects faulty at scan time are
left out, commented, with the reason. A bundled profile whose objects the device all has
is named.

``edge-agent scan bacnet --who-is [--range LOW-HIGH] [--bbmd ADDR] [--target ADDR]`` sends
a Who-Is (broadcast, through a BBMD as a foreign device, or to one address) and prints one
entry per device that answered, reading its ``system-status``: a start that the agent
accepts as it is, to be completed with the scan of each device.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from bacpypes3.basetypes import PropertyIdentifier
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier
from pydantic import ValidationError

from campus_core.commandline import first_error
from campus_core.units import parse_duration

from .config import ANALOG, DEVICE, KNOWN_TYPES, MULTI_STATE, BacnetDevice, split_host_port
from .link import EndpointError, EndpointKey, acquire
from .objects import FLAGS, OBJECT_LIST, OBJECT_NAME, PRESENT_VALUE, RELIABILITY, STATE_TEXT, UNITS, faulty
from .session import BacnetError, Problem, Session
from .units import conversion, normalise

PROFILES = Path(__file__).resolve().parents[2] / "configs" / "profiles"
_DEVICE_PROPS = ("object-name", "vendor-name", "vendor-identifier", "model-name", "firmware-revision")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``edge-agent scan bacnet``."""
    parser.add_argument("address", nargs="?", help="the device: HOST[:PORT] (47808 unless given)")
    parser.add_argument("--who-is", action="store_true", help="list the devices that answer a Who-Is")
    parser.add_argument("--range", metavar="LOW-HIGH", help="--who-is: only device instances in this range")
    parser.add_argument(
        "--bbmd", metavar="ADDR", help="register with this BBMD (HOST[:PORT]) as a foreign device"
    )
    parser.add_argument("--target", metavar="ADDR", help="--who-is: ask this address only, not a broadcast")
    parser.add_argument("--network", type=int, help="the device is behind a router: its network number")
    parser.add_argument("--mac", help="... and its MAC on that network")
    parser.add_argument("--instance", type=int, help="the device instance, if it answers no Who-Is")
    parser.add_argument("--port", type=int, default=47808, help="the agent's own UDP port (default 47808)")
    parser.add_argument("--local-address", default="0.0.0.0", help="the agent's own address (default any)")
    parser.add_argument("--name", help="device name for the draft (default: the device's object name)")
    parser.add_argument("--timeout", default="3s", help="wait per request (default 3s)")


def run(args: argparse.Namespace) -> int:
    """Scan and print the draft; 0 when a device answered, 1 when none did, 2 on bad options."""
    if args.who_is == bool(args.address):
        print("edge-agent scan bacnet: give HOST[:PORT], or --who-is", file=sys.stderr)
        return 2
    try:
        timeout = parse_duration(args.timeout)
        low, high = _range(args.range)
        device = BacnetDevice(
            name=args.name or "scan",
            address=args.address or args.target or "127.0.0.1",
            device_instance=args.instance,
            network=args.network,
            mac=args.mac,
            timeout=timeout,
            port=args.port,
            local_address=args.local_address,
            bbmd=args.bbmd,
            measurement="hvac",
            objects=[{"object": "device,0", "property": "system-status", "field": "system_status_code"}],
        )
    except (ValueError, ValidationError) as exc:
        print(f"edge-agent scan bacnet: {first_error(exc)}", file=sys.stderr)
        return 2
    try:
        if args.who_is:
            target = Address(":".join(map(str, split_host_port(args.target)))) if args.target else None
            text = asyncio.run(_who_is(device, low, high, target))
        else:
            text = asyncio.run(_scan(device, args.name))
    except BacnetError as exc:
        print(f"edge-agent scan bacnet: {exc.reason}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


def _range(text: str | None) -> tuple[int | None, int | None]:
    if text is None:
        return None, None
    match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text)
    if match is None or int(match.group(1)) > int(match.group(2)) or int(match.group(2)) > 4194303:
        raise ValueError(f"--range {text!r}: write LOW-HIGH, two device instances, e.g. 1000-1999")
    return int(match.group(1)), int(match.group(2))


async def discover(app: Any, low: int | None, high: int | None, target: Any, wait: float) -> list[Any]:
    """The I-Am answers to one Who-Is (broadcast when ``target`` is None), by device instance."""
    async with asyncio.timeout(wait + 2):
        i_ams = await app.who_is(low, high, target, timeout=wait)
    return sorted(i_ams, key=lambda i: int(i.iAmDeviceIdentifier[1]))


async def _who_is(device: BacnetDevice, low: int | None, high: int | None, target: Any) -> str:
    session = Session(device)
    try:
        bbmd = split_host_port(device.bbmd) if device.bbmd else None
        try:
            session.endpoint = await acquire(
                EndpointKey(device.local_address, device.port, bbmd, round(device.bbmd_ttl)), device.timeout
            )
        except EndpointError as exc:
            raise BacnetError(str(exc)) from None
        i_ams = await discover(session.app, low, high, target, device.timeout)
    finally:
        await session.close()
    return render_who_is(device, i_ams, low, high, target)


def render_who_is(
    device: BacnetDevice, i_ams: list[Any], low: int | None, high: int | None, target: Any
) -> str:
    """The devices that answered, as entries the agent accepts (each reads its system status)."""
    how = (
        f"to {target}"
        if target is not None
        else (f"through BBMD {device.bbmd}" if device.bbmd else "broadcast")
    )
    span = f"{low}-{high}" if low is not None else "any instance"
    lines = [f"# Who-Is ({span}) {how}: {len(i_ams)} devices answered"]
    if not i_ams:
        lines.append("# none: check the network, the range, or give --bbmd for another subnet")
    for i_am in i_ams:
        instance = int(i_am.iAmDeviceIdentifier[1])
        source = i_am.pduSource
        lines += [
            "",
            f"# device {instance}: vendor {int(i_am.vendorID)}, max APDU {int(i_am.maxAPDULengthAccepted)}, "
            f"{i_am.segmentationSupported}; list its objects with: edge-agent scan bacnet {source}",
            *_header(device, f"device-{instance}", source, instance),
            "",
            "[[devices.bacnet.objects]]  # the device's own status (0 operational); add its objects",
            f'object = "device,{instance}"',
            'property = "system-status"',
            'field = "system_status_code"',
        ]
    return "\n".join(lines) + "\n"


def _header(device: BacnetDevice, name: str, source: Any, instance: int) -> list[str]:
    """The device's keys; ``source`` is where an I-Am came from (None: the scanned address)."""
    lines = ["[[devices.bacnet]]", f'name = "{name}"']
    net = getattr(source, "addrNet", None)
    if net is not None:
        mac = source.addrAddr
        shown = str(mac[0]) if len(mac) == 1 else "0x" + mac.hex()
        lines += [f'address = "{device.address}"  # the router', f"network = {net}", f'mac = "{shown}"']
    elif source is not None:
        lines.append(f'address = "{source}"')
    else:
        lines.append(f'address = "{device.address}"')
        if device.network is not None:
            lines += [f"network = {device.network}", f'mac = "{device.mac}"']
    lines += [f"device_instance = {instance}", 'measurement = "hvac"']
    if device.port != 47808:
        lines.append(f"port = {device.port}")
    if device.local_address != "0.0.0.0":
        lines.append(f'local_address = "{device.local_address}"')
    if device.bbmd:
        lines.append(f'bbmd = "{device.bbmd}"')
    return lines


async def _scan(device: BacnetDevice, name: str | None) -> str:
    session = Session(device)
    try:
        peer = await session.connect()
        this = ObjectIdentifier(("device", peer.instance))
        about_props = [PropertyIdentifier(p) for p in (*_DEVICE_PROPS, "object-list")]
        about = await session.read([(this, about_props)])
        listing = about.get((this, OBJECT_LIST))
        if isinstance(listing, Problem) or listing is None:
            raise BacnetError(f"device {peer.instance} does not give its object list ({listing})")
        objects = [ObjectIdentifier(o) for o in listing if normalise(str(o[0])) in KNOWN_TYPES - DEVICE]
        values = await session.read([(o, _props(o)) for o in objects])
    finally:
        await session.close()
    info = {p: about.get((this, PropertyIdentifier(p))) for p in _DEVICE_PROPS}
    return render(device, peer, session.rpm, info, objects, values, name)


def _props(object_id: ObjectIdentifier) -> list[PropertyIdentifier]:
    kind = str(object_id[0])
    props = [OBJECT_NAME, PRESENT_VALUE, FLAGS, RELIABILITY]
    if kind in ANALOG:
        props.append(UNITS)
    if kind in MULTI_STATE:
        props.append(STATE_TEXT)
    return props


def render(
    device: BacnetDevice,
    peer: Any,
    rpm: bool | None,
    info: dict[str, Any],
    objects: list[ObjectIdentifier],
    values: dict[Any, Any],
    name: str | None,
) -> str:
    """The report as TOML comments, then the draft entry."""

    def text(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.6g}"
        return "?" if value is None or isinstance(value, Problem) else str(value)

    title = text(info.get("object-name"))
    lines = [
        f"# {device.address}: device {peer.instance} {title!r}, vendor {text(info.get('vendor-name'))!r} "
        f"({peer.vendor}), model {text(info.get('model-name'))!r}, "
        f"firmware {text(info.get('firmware-revision'))}",
        f"# max APDU {peer.max_apdu}, {peer.segmentation}; ReadPropertyMultiple: "
        + ("answered" if rpm else "refused: the agent reads it property by property"),
    ]
    entries: list[str] = []
    used: set[str] = set()
    present: set[str] = set()
    for object_id in objects:
        kind, instance = str(object_id[0]), int(object_id[1])
        present.add(f"{kind},{instance}")
        get = {
            p: values.get((object_id, PropertyIdentifier(p)))
            for p in ("object-name", "present-value", "units")
        }
        label = text(get["object-name"])
        units = get["units"]
        unit_name = None if units is None or isinstance(units, Problem) else str(units)
        why = faulty(values.get((object_id, FLAGS)), values.get((object_id, RELIABILITY)))
        field = _field_name(label, kind, unit_name, used)
        shown = f"{kind},{instance} {label!r} = {text(get['present-value'])}" + (
            f" {unit_name}" if unit_name else ""
        )
        key = "tag" if kind == "characterstring-value" else "field"
        prefix, note = "", shown
        if why is not None:
            prefix, note = "# ", f"{kind},{instance} {label!r}: left out, faulty at scan time ({why})"
        elif isinstance(get["present-value"], Problem):
            prefix, note = (
                "# ",
                f"{kind},{instance} {label!r}: left out, present value unreadable ({get['present-value']})",
            )
        entries += [
            "",
            f"{prefix}[[devices.bacnet.objects]]  # {note[:120]}",
            f'{prefix}object = "{kind},{instance}"',
        ]
        entries.append(f'{prefix}{key} = "{field}"')
        if kind in MULTI_STATE:
            entries.append(f'{prefix}state_tag = "{field.removesuffix("_code")}"')
    readable = sum(1 for line in entries if line.startswith("[[devices.bacnet.objects]]"))
    lines.append(
        f"# {len(objects)} objects the agent reads; {readable} in the draft, "
        f"{len(objects) - readable} left out"
    )
    fits = _fitting_profiles(present)
    if fits:
        lines.append(f'# every object of profile = "{fits[0]}" is here: that profile may fit')
    default = re.sub(r"[^A-Za-z0-9_.-]+", "-", title).strip("-.") if title != "?" else ""
    lines += ["", *_header(device, name or default or f"device-{peer.instance}", None, peer.instance)]
    if not readable:
        lines += ["", "[[devices.bacnet.objects]]  # nothing else is readable: the device's own status"]
        lines += [
            f'object = "device,{peer.instance}"',
            'property = "system-status"',
            'field = "system_status_code"',
        ]
    return "\n".join(lines + entries) + "\n"


def _fitting_profiles(present: set[str]) -> list[str]:
    found = []
    for path in sorted(PROFILES.glob("bacnet-*.toml")):
        objects = {o.get("object") for o in tomllib.loads(path.read_text()).get("objects", [])}
        if objects and objects <= present:
            found.append(path.stem)
    return sorted(found, key=lambda p: -len(tomllib.loads((PROFILES / f"{p}.toml").read_text())["objects"]))


def _slug(text: str) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


def _field_name(label: str, kind: str, units: str | None, used: set[str]) -> str:
    """snake_case of the object's name, with the unit suffix its units lead to, unique in the draft."""
    stem = _slug(label) or kind.replace("-", "_")
    if not stem[0].isalpha():
        stem = f"v_{stem}"
    wanted = conversion(units)
    suffix = ""
    if kind in MULTI_STATE:
        suffix = "_code"
    elif wanted is not None:
        suffix = f"_{wanted.suffix}"
        stem = stem.removesuffix(suffix)
    name, n = f"{stem}{suffix}", 2
    while name in used:
        name, n = f"{stem}_{n}{suffix}", n + 1
    used.add(name)
    return name
