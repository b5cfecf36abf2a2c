"""Simulated OPC UA training-room machines: a CNC lathe (umati-style) and a PLC rig, on loopback.

Each machine is its own asyncua server. The CNC lathe follows the names of the umati
machine-tool companion specification (OPC 40501) where it has them; the PLC rig has a
flat data block as integrators map one (``ns=2;s=Rig.*``). The values come from the same
:class:`~simulators.models.MachineModel` as the Modbus training machines, so both kinds
of machine tell one story on the dashboards. Example::

    async with OpcuaMachine("lathe-1", "cnc", port=4840) as machine:
        print(machine.url, machine.reads)      # Read requests served, nodes in each
        machine.set_bad("spindle_rpm")          # the node now answers BadSensorFailure
        machine.silent = True                   # the server stops answering, the socket stays open

What the server enforces, as real controllers do: ``max_nodes_per_read`` (a larger Read is
refused with BadTooManyOperations), and the security policies, users and certificates given.
It never accepts a write from a client (``writes`` counts attempts: the agent makes none).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from asyncua import Server, ua
from asyncua.common.callback import CallbackType
from asyncua.common.utils import ServiceError
from asyncua.server.user_managers import UserManager
from cryptography.hazmat.primitives.serialization import Encoding

from ..models import MachineModel
from .nameplate import Nameplate, add_identification, set_build_info

try:  # asyncua 1.1.8 moved the user types
    from asyncua.crypto.permission_rules import User, UserRole
except ImportError:  # asyncua 1.1.5
    from asyncua.server.users import User, UserRole


def der_of(certificate: Any) -> bytes:
    """The DER bytes of a certificate (a cryptography one, or DER bytes already)."""
    if isinstance(certificate, bytes | bytearray):
        return bytes(certificate)
    return bytes(certificate.public_bytes(Encoding.DER))


__all__ = [
    "CNC_NAMESPACE",
    "MACHINE_TOOL_NS",
    "Kind",
    "OpcuaCampus",
    "OpcuaMachine",
    "OpcuaMachineInfo",
    "add_arguments",
    "build_opcua_machines",
    "from_args",
    "render_opcua_config",
]

Kind = Literal["cnc", "plc-rig"]
#: The umati machine-tool companion specification's namespace.
MACHINE_TOOL_NS = "http://opcfoundation.org/UA/MachineTool/"
#: The simulated machine builder's namespace (where the instances live).
CNC_NAMESPACE = "urn:campus-edge-agent:simulators:cnc"
RIG_NAMESPACE = "urn:campus-edge-agent:simulators:plc-rig"
#: How often the values follow the model (and data changes are notified).
UPDATE_S = 0.2

PROGRAMS = ("O1001-SHAFT", "O1002-FLANGE", "O2010-BUSHING", "O3005-PIN")

# asyncua logs every refused request at error level; the simulator's job is to refuse some.
logging.getLogger("asyncua").setLevel(logging.CRITICAL)


@dataclass
class _Variable:
    """One variable of the address space and where its value comes from."""

    key: str
    node: Any
    variant: ua.VariantType
    status: int | None = None


class _Users(UserManager):  # type: ignore[misc]
    """Anonymous unless users or user certificates are given; then only those."""

    def __init__(self, passwords: dict[str, str], certificates: list[bytes], anonymous: bool) -> None:
        self.passwords = passwords
        self.certificates = certificates
        self.anonymous = anonymous

    def get_user(
        self, iserver: Any, username: str | None = None, password: str | None = None, certificate: Any = None
    ) -> User | None:
        if username is not None:
            return User(role=UserRole.User) if self.passwords.get(username) == password else None
        # asyncua hands over the channel's certificate for an anonymous session too: a known
        # user certificate identifies, anything else is anonymous.
        if certificate is not None and der_of(certificate) in self.certificates:
            return User(role=UserRole.User)
        return User(role=UserRole.User) if self.anonymous else None


@dataclass
class OpcuaMachineInfo:
    """Where and what one simulated OPC UA machine is."""

    name: str
    kind: Kind
    host: str
    port: int
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The endpoint URL."""
        return f"opc.tcp://{self.host}:{self.port}"


class OpcuaMachine:
    """One simulated machine: an asyncua server whose values follow a MachineModel."""

    def __init__(
        self,
        name: str,
        kind: Kind,
        port: int,
        *,
        host: str = "127.0.0.1",
        seed: int = 1,
        epoch: float | None = None,
        max_nodes_per_read: int = 0,
        policies: Sequence[ua.SecurityPolicyType] = (ua.SecurityPolicyType.NoSecurity,),
        certificate: Path | None = None,
        private_key: Path | None = None,
        users: dict[str, str] | None = None,
        user_certificates: Sequence[bytes] = (),
        anonymous: bool | None = None,
        trusted_clients: Sequence[bytes] | None = None,
    ) -> None:
        self.name = name
        self.kind: Kind = kind
        self.host = host
        self.port = port
        self.model = MachineModel(seed, time.time() if epoch is None else epoch)
        self.max_nodes_per_read = max_nodes_per_read
        self.policies = list(policies)
        self.certificate = certificate
        self.private_key = private_key
        #: DER certificates of the clients allowed to open a secured channel (None: any).
        self.trusted_clients = None if trusted_clients is None else list(trusted_clients)
        no_identity = not users and not user_certificates
        self.users = _Users(
            dict(users or {}), list(user_certificates), no_identity if anonymous is None else anonymous
        )
        #: Nodes in each Read request served, in order.
        self.reads: list[int] = []
        #: Write requests from clients (refused; the agent must never send one).
        self.writes = 0
        self.silent = False
        #: Values that replace the model's (a test turning the spindle on a Sunday).
        self.overrides: dict[str, Any] = {}
        self.parts = 0
        self._server: Server | None = None
        self._variables: dict[str, _Variable] = {}
        self._task: asyncio.Task[None] | None = None
        self._was_running = False
        #: Who the machine and its server say they are (BuildInfo; DI on the CNC lathe).
        self.nameplate = Nameplate.of(name, kind)

    @property
    def url(self) -> str:
        """The endpoint URL."""
        return f"opc.tcp://{self.host}:{self.port}"

    @property
    def keys(self) -> list[str]:
        """The field and tag names this machine's variables stand for."""
        return list(self._variables)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Build the address space and listen (again, after :meth:`stop`: a restart)."""
        server = Server(user_manager=self.users)
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name(f"campus simulator {self.name}")
        await server.set_application_uri(f"urn:campus-edge-agent:simulators:{self.name}")
        await set_build_info(server, self.nameplate, f"urn:campus-edge-agent:simulators:{self.kind}")
        server.set_security_policy(self.policies)
        policy_ids = ["Anonymous"] if self.users.anonymous else []
        if self.users.passwords:
            policy_ids.append("Username")
        if self.users.certificates:
            policy_ids.append("Basic256Sha256")  # asyncua's name for the certificate identity
        server.set_security_IDs(policy_ids or ["Anonymous"])
        if self.certificate is not None and self.private_key is not None:
            # Read here, PEM or DER alike (asyncua tells them apart by the file name only).
            await server.load_certificate(_der_certificate(self.certificate))
            await server.load_private_key(_der_key(self.private_key))
        if self.trusted_clients is not None:
            server.set_certificate_validator(self._validate_client)
        if self.max_nodes_per_read:
            limits = ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead
            limit = server.get_node(ua.NodeId(limits))
            await limit.write_value(ua.Variant(self.max_nodes_per_read, ua.VariantType.UInt32))
        self._variables = {}
        if self.kind == "cnc":
            await self._build_cnc(server)
        else:
            await self._build_rig(server)
        server.subscribe_server_callback(CallbackType.PreRead, self._pre_read)
        server.subscribe_server_callback(CallbackType.PreWrite, self._pre_write)
        await self._update()
        await server.start()
        self._server = server
        self._task = asyncio.create_task(self._follow(), name=f"opcua-sim-{self.name}")

    async def stop(self) -> None:
        """Stop listening; the sessions of clients end."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._server is not None:
            await self._server.stop()
            self._server = None

    def set_bad(self, key: str, bad: bool = True) -> None:
        """Let the variable standing for ``key`` answer BadSensorFailure (or good again)."""
        self.set_status(key, ua.StatusCodes.BadSensorFailure if bad else None)

    def set_status(self, key: str, status: int | None) -> None:
        """The StatusCode the variable standing for ``key`` answers with (None: Good)."""
        self._variables[key].status = status

    # -- address space --------------------------------------------------------------------

    async def _build_cnc(self, server: Server) -> None:
        mt = await server.register_namespace(MACHINE_TOOL_NS)
        ns = await server.register_namespace(CNC_NAMESPACE)
        machines = await server.nodes.objects.add_folder(
            ua.NodeId("Machines", ns), ua.QualifiedName("Machines", ns)
        )
        machine = await machines.add_object(ua.NodeId(self.name, ns), ua.QualifiedName(self.name, ns))
        await add_identification(server, machine, ns, self.name, self.nameplate)
        monitoring = await machine.add_object(
            ua.NodeId(f"{self.name}.Monitoring", ns), ua.QualifiedName("Monitoring", mt)
        )
        tool = await monitoring.add_object(
            ua.NodeId(f"{self.name}.MachineTool", ns), ua.QualifiedName("MachineTool", ns)
        )
        spindle = await monitoring.add_object(
            ua.NodeId(f"{self.name}.Spindle", ns), ua.QualifiedName("Spindle", ns)
        )
        channel = await monitoring.add_object(
            ua.NodeId(f"{self.name}.Channel1", ns), ua.QualifiedName("Channel1", ns)
        )
        production = await machine.add_object(
            ua.NodeId(f"{self.name}.Production", ns), ua.QualifiedName("Production", mt)
        )
        program = await production.add_object(
            ua.NodeId(f"{self.name}.ActiveProgram", ns), ua.QualifiedName("ActiveProgram", mt)
        )
        double, boolean, u32 = ua.VariantType.Double, ua.VariantType.Boolean, ua.VariantType.UInt32
        layout: list[tuple[str, Any, str, int, ua.VariantType]] = [
            ("spindle_rpm", spindle, "ActualSpeed", mt, double),
            ("spindle_load_pct", spindle, "ActualLoad", ns, double),
            ("spindle_rotating", spindle, "IsRotating", mt, boolean),
            ("feed_override_pct", channel, "FeedOverride", mt, double),
            ("channel_state", channel, "ChannelState", mt, ua.VariantType.Int32),
            ("running", tool, "IsRunning", ns, boolean),
            ("alarm", tool, "AlarmActive", ns, boolean),
            ("alarm_code", tool, "AlarmCode", ns, u32),
            ("run_time_h", tool, "PowerOnDuration", mt, double),
            ("parts_count", program, "PartsProduced", ns, u32),
            ("program", program, "Name", mt, ua.VariantType.String),
        ]
        for key, parent, browse, index, variant in layout:
            node = await parent.add_variable(
                ua.NodeId(f"{self.name}.{browse}", ns),
                ua.QualifiedName(browse, index),
                ua.Variant(_zero(variant), variant),
            )
            self._variables[key] = _Variable(key, node, variant)

    async def _build_rig(self, server: Server) -> None:
        ns = await server.register_namespace(RIG_NAMESPACE)
        rig = await server.nodes.objects.add_object(ua.NodeId("Rig", ns), ua.QualifiedName("Rig", ns))
        double, boolean = ua.VariantType.Double, ua.VariantType.Boolean
        layout: list[tuple[str, str, ua.VariantType]] = [
            ("state_code", "State", ua.VariantType.UInt16),
            ("running", "Running", boolean),
            ("alarm", "Alarm", boolean),
            ("door_open", "DoorOpen", boolean),
            ("emergency_stop", "EmergencyStop", boolean),
            ("spindle_rpm", "SpindleSpeed", double),
            ("spindle_load_pct", "SpindleLoad", double),
            ("alarm_code", "AlarmCode", ua.VariantType.UInt16),
            ("parts_count", "PartCount", ua.VariantType.UInt32),
            ("run_time_h", "RunTime", double),
            ("program", "Program", ua.VariantType.String),
        ]
        for key, browse, variant in layout:
            node = await rig.add_variable(
                ua.NodeId(f"Rig.{browse}", ns),
                ua.QualifiedName(browse, ns),
                ua.Variant(_zero(variant), variant),
            )
            self._variables[key] = _Variable(key, node, variant)

    # -- values ----------------------------------------------------------------------------

    def values(self, t: float) -> dict[str, Any]:
        """What every variable holds at ``t``."""
        sample = self.model.sample(t)
        running, alarm = bool(sample["running"]), bool(sample["alarm"])
        if running and not self._was_running:
            self.parts += 1
        self._was_running = running
        rpm = float(sample["spindle_rpm"])
        values = {
            "spindle_rpm": rpm,
            "spindle_load_pct": round(float(sample["spindle_load_pct"]), 1),
            "spindle_rotating": rpm > 0,
            "feed_override_pct": 100.0 if running else 0.0,
            "channel_state": 1 if running else 2,  # umati ChannelState: 1 Active, 2 Interrupted
            "running": running,
            "alarm": alarm,
            "alarm_code": int(sample["alarm_code"]),
            "run_time_h": round(float(sample["run_time_h"]), 3),
            "parts_count": self.parts,
            "program": PROGRAMS[int(t // 600) % len(PROGRAMS)],
            "state_code": 3 if alarm else 2 if running else 1,
            "door_open": False,
            "emergency_stop": False,
        }
        values.update(self.overrides)
        return values

    async def _update(self) -> None:
        now = time.time()
        values = self.values(now)
        for key, variable in self._variables.items():
            status = ua.StatusCode(variable.status or ua.StatusCodes.Good)
            if status.is_bad():
                data = ua.DataValue(ua.Variant(), StatusCode_=status, SourceTimestamp=datetime.now(UTC))
            else:
                data = ua.DataValue(
                    ua.Variant(values[key], variable.variant),
                    StatusCode_=status,
                    SourceTimestamp=datetime.now(UTC),
                )
            await variable.node.write_value(data)

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(UPDATE_S)
            await self._update()
            if self.silent:
                self._hush()

    def _hush(self) -> None:
        """Stop reading from every connected client: the server stops answering, sockets stay open."""
        server = self._server
        if server is None or getattr(server, "bserver", None) is None:
            return
        for protocol in list(server.bserver.clients):
            transport = protocol.transport
            if transport is not None and transport.is_reading():
                transport.pause_reading()

    async def _validate_client(self, certificate: Any, description: Any) -> None:
        if self.trusted_clients is not None and der_of(certificate) not in self.trusted_clients:
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)

    def _pre_read(self, event: Any, dispatcher: Any) -> None:
        if not event.is_external:
            return
        count = len(event.request_params.NodesToRead)
        if self.max_nodes_per_read and count > self.max_nodes_per_read:
            raise ua.UaStatusCodeError(ua.StatusCodes.BadTooManyOperations)
        self.reads.append(count)

    def _pre_write(self, event: Any, dispatcher: Any) -> None:
        if event.is_external:
            self.writes += 1
            raise ua.UaStatusCodeError(ua.StatusCodes.BadUserAccessDenied)


def _der_certificate(path: Path) -> bytes:
    from cryptography import x509

    data = path.read_bytes()
    return der_of(x509.load_pem_x509_certificate(data)) if b"-----BEGIN" in data else data


def _der_key(path: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization

    data = path.read_bytes()
    if b"-----BEGIN" not in data:
        return data
    key = serialization.load_pem_private_key(data, None)
    return key.private_bytes(Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _zero(variant: ua.VariantType) -> Any:
    if variant == ua.VariantType.Boolean:
        return False
    if variant == ua.VariantType.String:
        return ""
    if variant == ua.VariantType.Double:
        return 0.0
    return 0


# -- the campus's OPC UA machines --------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--opcua-cnc N --opcua-rigs N --opcua-port P`` of ``python -m simulators campus``."""
    parser.add_argument("--opcua-cnc", type=int, default=0, help="OPC UA CNC lathes (default 0)")
    parser.add_argument("--opcua-rigs", type=int, default=0, help="OPC UA PLC rigs (default 0)")
    parser.add_argument(
        "--opcua-port",
        type=int,
        default=15050,
        help="TCP port of the first OPC UA machine, then +1 each (default 15050)",
    )


def build_opcua_machines(
    cnc: int, rigs: int, base_port: int, host: str = "127.0.0.1"
) -> list[OpcuaMachineInfo]:
    """The OPC UA machines of a campus: lathes then rigs, on consecutive ports."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"host {host!r} is not a loopback address; refusing to bind")
    if min(cnc, rigs) < 0:
        raise ValueError("device counts must not be negative")
    infos = [
        OpcuaMachineInfo(f"cnc-{i}", "cnc", host, base_port + i - 1, {"building": "T", "room": f"lab-{i}"})
        for i in range(1, cnc + 1)
    ]
    infos += [
        OpcuaMachineInfo(
            f"rig-{i}", "plc-rig", host, base_port + cnc + i - 1, {"building": "T", "room": f"plc-lab-{i}"}
        )
        for i in range(1, rigs + 1)
    ]
    return infos


def render_opcua_config(infos: Sequence[OpcuaMachineInfo]) -> str:
    """The agent's ``[[devices.opcua]]`` entries for these machines."""
    out = []
    for info in infos:
        tags = ", ".join(f'{k} = "{v}"' for k, v in info.tags.items())
        if info.kind == "cnc":
            profile, root = "opcua-cnc-umati", f'root = "Machines/{info.name}"\n'
        else:
            profile, root = "opcua-plc-rig", ""
        out.append(
            f'[[devices.opcua]]\nname = "{info.name}"\nurl = "{info.url}"\nprofile = "{profile}"\n'
            f"{root}tags = {{ {tags} }}\n"
        )
    return "\n".join(out)


class OpcuaCampus:
    """The campus's OPC UA machines; start it to serve them all."""

    def __init__(self, infos: Sequence[OpcuaMachineInfo], seed: int = 1) -> None:
        self.infos = list(infos)
        self.machines = [
            OpcuaMachine(info.name, info.kind, info.port, host=info.host, seed=seed + 200 + i)
            for i, info in enumerate(self.infos)
        ]
        self._started: list[OpcuaMachine] = []

    async def start(self) -> None:
        """Listen on every port; OSError naming the machine if one is taken (none left open)."""
        for machine in self.machines:
            try:
                await machine.start()
            except OSError as exc:
                await self.stop()
                why = exc.strerror or exc
                raise OSError(f"{machine.name}: cannot listen on {machine.url}: {why}") from None
            self._started.append(machine)

    async def stop(self) -> None:
        """Stop every machine started."""
        while self._started:
            await self._started.pop().stop()


def from_args(args: argparse.Namespace) -> OpcuaCampus | None:
    """The OPC UA machines the campus command was asked for, or None."""
    if not args.opcua_cnc and not args.opcua_rigs:
        return None
    return OpcuaCampus(
        build_opcua_machines(args.opcua_cnc, args.opcua_rigs, args.opcua_port, args.host), args.seed
    )
