"""Browse an OPC UA server (read-only) and print a draft [[devices.opcua]] entry to paste.

Lists the server's endpoints (policies, modes, certificate thumbprints), then browses below
Objects for variables and reads their current values in one Read, and prints an entry with
one node per variable (NodeIds with their namespace URI, so they survive a renumbering),
what it found as comments. A umati machine tool is recognised and the profile suggested.
Credentials are given as for the agent; the draft never holds a secret.

``--save-cert FILE`` only fetches the server's certificate (no session needed) and saves
it after printing its thumbprint: compare it with the machine's, then put it in trust_dir.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.ua.uaerrors import UaError
from cryptography import x509
from pydantic import ValidationError

from campus_core.commandline import first_error
from campus_core.units import parse_duration

from .config import OpcuaDevice
from .identity import DI_NAMESPACE
from .security import offered, server_certificate, thumbprint
from .session import OBJECTS, OpcuaError, Session, describe_failure

MACHINE_TOOL_NS = "http://opcfoundation.org/UA/MachineTool/"
#: A placeholder for the model, which wants something to read; the scan reads what it finds.
PLACEHOLDER = {"field": "server_state", "node": "i=2259"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``edge-agent scan opcua``."""
    parser.add_argument("--url", required=True, help="endpoint URL, opc.tcp://host:4840")
    parser.add_argument(
        "--policy",
        default="None",
        choices=["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"],
    )
    parser.add_argument("--security-mode", choices=["Sign", "SignAndEncrypt"])
    parser.add_argument("--cert-file", type=Path, help="the agent's certificate (with a policy)")
    parser.add_argument("--key-file", type=Path, help="its private key")
    parser.add_argument("--trust-dir", type=Path, help="folder of trusted server certificates")
    parser.add_argument("--username", help="user name")
    parser.add_argument("--password-file", type=Path, help="file holding the password")
    parser.add_argument("--user-cert-file", type=Path, help="a user certificate identity")
    parser.add_argument("--user-key-file", type=Path, help="its private key")
    parser.add_argument("--name", default="machine-1", help="device name for the draft")
    parser.add_argument("--timeout", default="5s", help="wait per request (default 5s)")
    parser.add_argument("--depth", type=int, default=8, help="levels to browse below Objects (default 8)")
    parser.add_argument(
        "--max-variables", type=int, default=500, help="variables to list at most (default 500)"
    )
    parser.add_argument(
        "--save-cert",
        type=Path,
        metavar="FILE",
        help="save the server's certificate (DER) to FILE after showing its thumbprint",
    )


def run(args: argparse.Namespace) -> int:
    """Scan and print the draft; 0 when the server answered, 1 when not, 2 on bad options."""
    settings: dict[str, Any] = {
        "name": "scan",
        "url": args.url,
        "policy": args.policy,
        "security_mode": args.security_mode,
        "cert_file": args.cert_file,
        "key_file": args.key_file,
        "trust_dir": args.trust_dir,
        "username": args.username,
        "password_file": args.password_file,
        "user_cert_file": args.user_cert_file,
        "user_key_file": args.user_key_file,
        "measurement": "scan",
        "nodes": [PLACEHOLDER],
    }
    try:
        settings["timeout"] = parse_duration(args.timeout)
        device = OpcuaDevice(**{k: v for k, v in settings.items() if v is not None})
    except (ValueError, ValidationError) as exc:
        print(f"edge-agent scan opcua: {first_error(exc)}", file=sys.stderr)
        return 2
    try:
        if args.save_cert is not None:
            return asyncio.run(_save_cert(device, args.save_cert))
        found = asyncio.run(_scan(device, args.depth, args.max_variables))
    except OpcuaError as exc:
        print(f"edge-agent scan opcua: {exc.reason}", file=sys.stderr)
        return 1
    sys.stdout.write(render(device, found, args.name))
    return 0


async def _endpoints(device: OpcuaDevice) -> list[Any]:
    client = Client(device.url, timeout=device.timeout)
    try:
        async with asyncio.timeout(device.timeout * 2):
            result: list[Any] = await client.connect_and_get_server_endpoints()
    except (UaError, OSError, TimeoutError, ConnectionError) as exc:
        raise OpcuaError(describe_failure(exc, device, "listing the endpoints")) from None
    return result


async def _save_cert(device: OpcuaDevice, file: Path) -> int:
    endpoints = await _endpoints(device)
    secured = [e for e in endpoints if e.ServerCertificate]
    if not secured:
        raise OpcuaError(f"{device.url} offers no certificate (only policy None); nothing to save")
    der = server_certificate(secured[0])
    cert = x509.load_der_x509_certificate(der)
    print(f"server certificate of {device.url}:")
    print(f"  subject     {cert.subject.rfc4514_string()}")
    print(f"  valid       {cert.not_valid_before_utc:%Y-%m-%d} .. {cert.not_valid_after_utc:%Y-%m-%d}")
    print(f"  SHA-1       {thumbprint(der)}")
    print("compare the thumbprint with the one the machine shows before trusting it")
    await asyncio.to_thread(_write, file, der)
    return 0


def _write(file: Path, der: bytes) -> None:
    try:
        file.write_bytes(der)
    except OSError as exc:
        raise OpcuaError(f"cannot write {file}: {exc.strerror or exc}") from None
    print(f"saved to {file}")


async def _scan(device: OpcuaDevice, depth: int, limit: int) -> dict[str, Any]:
    endpoints = await _endpoints(device)
    session = Session(device)
    await session.connect()
    try:
        namespaces: list[str] = await session.client.get_namespace_array()
        variables: list[tuple[str, Any, Any]] = []  # (path, NodeId, data type id)
        level: list[tuple[str, Any]] = [("", OBJECTS)]
        seen = {OBJECTS}
        for _ in range(depth):
            if not level or len(variables) >= limit:
                break
            children = await session._browse([node_id for _, node_id in level])
            following: list[tuple[str, Any]] = []
            for (path, _), refs in zip(level, children, strict=True):
                for ref in refs:
                    node_id = ref.NodeId
                    if node_id in seen or node_id.NamespaceIndex == 0:
                        continue  # the standard address space (Server, Aliases): not the machine
                    if _nameplate(ref.BrowseName, namespaces):
                        continue  # the asset register reads it (identity.py): no points
                    seen.add(node_id)
                    child = f"{path}/{ref.BrowseName.Name}" if path else ref.BrowseName.Name
                    if ref.NodeClass == ua.NodeClass.Variable and len(variables) < limit:
                        variables.append((child, node_id, ref.TypeDefinition))
                    following.append((child, node_id))
            level = following
        values = await session.read([node_id for _, node_id, _ in variables]) if variables else []
    except (UaError, OSError, TimeoutError, ConnectionError) as exc:
        raise OpcuaError(describe_failure(exc, device, "browsing")) from None
    finally:
        await session.close()
    return {
        "endpoints": endpoints,
        "namespaces": namespaces,
        "limit": session.limit,
        "variables": [
            (path, node_id, value) for (path, node_id, _), value in zip(variables, values, strict=True)
        ],
    }


def _nameplate(name: Any, namespaces: list[str]) -> bool:
    """Whether a browse name is the DI ``Identification`` object of a machine."""
    index = name.NamespaceIndex
    in_di = index < len(namespaces) and namespaces[index] == DI_NAMESPACE
    return bool(name.Name == "Identification" and in_di)


def render(device: OpcuaDevice, found: dict[str, Any], name: str) -> str:
    """The report as TOML comments, then the draft entry."""
    namespaces: list[str] = found["namespaces"]
    lines = [f"# {device.url}: endpoints " + ", ".join(str(o) for o in offered(found["endpoints"]))]
    for endpoint in found["endpoints"]:
        der = server_certificate(endpoint)
        if der:
            lines.append(f"# server certificate SHA-1 {thumbprint(der)}")
            break
    lines.append(f"# MaxNodesPerRead honoured: {found['limit']}; namespaces:")
    lines += [f"#   {index}: {uri}" for index, uri in enumerate(namespaces)]
    variables: list[tuple[str, Any, Any]] = found["variables"]
    lines.append(f"# {len(variables)} variables below Objects")
    machine = _umati_machine(variables) if MACHINE_TOOL_NS in namespaces else None
    if machine is not None:
        lines.append(
            f'# a umati machine tool at {machine}: profile = "opcua-cnc-umati" with '
            f'root = "{machine}" may fit'
        )
    lines += ["", "[[devices.opcua]]", f'name = "{name}"', f'url = "{device.url}"']
    if device.policy != "None":
        lines += [
            f'policy = "{device.policy}"',
            f'security_mode = "{device.effective_security_mode}"',
            f'cert_file = "{device.cert_file}"',
            f'key_file = "{device.key_file}"',
            f'trust_dir = "{device.trust_dir}"',
        ]
    if device.username:
        lines += [f'username = "{device.username}"', f'password_file = "{device.password_file}"']
    if device.user_cert_file:
        lines += [f'user_cert_file = "{device.user_cert_file}"', f'user_key_file = "{device.user_key_file}"']
    lines += [
        'measurement = "training_machine"   # the schema\'s measurement for this kind of machine',
        'tags = { kind = "CHANGE-ME" }',
        "",
    ]
    used: set[str] = set()
    for path, node_id, data in variables:
        raw = data.Value.Value if data.Value is not None else None
        status = data.StatusCode_
        key = "tag" if isinstance(raw, str | ua.LocalizedText) else "field"
        readable = not isinstance(raw, list | bytes | bytearray) and raw is not None and status.is_good()
        field = _field_name(path, used)
        shown = raw.Text if isinstance(raw, ua.LocalizedText) else raw
        what = f"{path} = {shown!r}" if status.is_good() else f"{path}: {status.name}"
        prefix = "" if readable else "# "
        lines += [
            f"{prefix}[[devices.opcua.nodes]]  # {what[:100]}",
            f'{prefix}{key} = "{field}"',
            f'{prefix}node = "{_node_text(node_id, namespaces)}"',
            "",
        ]
    return "\n".join(lines)


def _umati_machine(variables: list[tuple[str, Any, Any]]) -> str | None:
    for path, _, _ in variables:
        parts = path.split("/")
        if "Monitoring" in parts:
            return "/".join(parts[: parts.index("Monitoring")]) or None
    return None


def _field_name(path: str, used: set[str]) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", "_".join(path.split("/")[-2:]))
    name = re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_") or "value"
    if not name[0].isalpha():
        name = f"v_{name}"
    base, n = name, 2
    while name in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name)
    return name


def _node_text(node_id: Any, namespaces: list[str]) -> str:
    text = str(node_id.to_string())
    index = node_id.NamespaceIndex
    if index and index < len(namespaces):
        return re.sub(r"^ns=\d+;", f"nsu={namespaces[index]};", text)
    return text
