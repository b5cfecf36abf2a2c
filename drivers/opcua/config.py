"""The ``[[devices.opcua]]`` config model: what a technician writes for one OPC UA server.

A node is named by its NodeId (``ns=2;s=Spindle.Speed``, or ``nsu=<namespace URI>;s=...``
so that a server renumbering its namespaces does not move it) or by a browse path below
the device's ``root`` (``Monitoring/Spindle/ActualSpeed``), resolved once per session.
Everything is checked when the config loads, so a malformed NodeId is an error of
``edge-agent check``, not of a poll.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from campus_core.devices import Driver
from campus_core.files import SecretFile
from campus_core.identity import IdentityKeys
from campus_core.names import Name, SnakeCase
from campus_core.plugins import Factory
from campus_core.reporting import DeviceReporting, FieldReporting, FieldSettings, refuse_deadband
from campus_core.units import Duration

Mode = Literal["poll", "subscribe"]
Policy = Literal["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"]
SecurityMode = Literal["None", "Sign", "SignAndEncrypt"]

#: ``ns=2;s=Name``, ``nsu=urn:x;i=5``, ``i=2258``, ``g=...``, ``b=...``
_NODE_ID = re.compile(r"^(?:(?:ns=\d+|nsu=[^;]+);)?[isgb]=.+$")
#: One browse path element: ``Name`` (any namespace) or ``<index>:Name``.
_ELEMENT = re.compile(r"^(?:(\d+):)?([^/]+)$")


def readable_dir(path: Path) -> Path:
    """``path`` itself, or ValueError unless it is a folder this user can list."""
    if not path.exists():
        raise ValueError(
            f"folder {str(path)!r} does not exist; create it (mode 0700) and put the "
            "trusted server certificates there"
        )
    if not path.is_dir():
        raise ValueError(f"{str(path)!r} is not a folder; trust_dir names a folder of certificates")
    try:
        next(iter(path.iterdir()), None)
    except PermissionError:
        raise ValueError(f"folder {str(path)!r} cannot be read by this user") from None
    return path


#: A folder of trusted certificates.
TrustDir = Annotated[Path, AfterValidator(readable_dir)]


def split_path(path: str) -> list[tuple[int | None, str]]:
    """``"2:Machines/Lathe-1"`` -> ``[(2, "Machines"), (None, "Lathe-1")]``; ValueError if malformed."""
    elements: list[tuple[int | None, str]] = []
    for part in path.strip("/").split("/"):
        match = _ELEMENT.match(part.strip())
        if not part.strip() or match is None:
            raise ValueError(
                f"browse path {path!r}: empty element; write names separated by '/', "
                'e.g. "Monitoring/Spindle/ActualSpeed"'
            )
        index, name = match.groups()
        elements.append((int(index) if index is not None else None, name))
    return elements


class NodeSpec(FieldReporting):
    """One value to read (``[[devices.opcua.nodes]]``): a NodeId or a browse path, and its field."""

    model_config = ConfigDict(extra="forbid")

    field: SnakeCase | None = Field(
        default=None, description="field name, snake_case with its unit: spindle_rpm"
    )
    tag: SnakeCase | None = Field(default=None, description="tag key for a text value")
    node: str | None = Field(default=None, description="NodeId: ns=2;s=Spindle.Speed or nsu=URI;s=...")
    path: str | None = Field(default=None, description="browse path below the device's root")
    scale: float = 1.0
    offset: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> NodeSpec:
        if (self.field is None) == (self.tag is None):
            raise ValueError(
                'a node needs field = "..." (a number or boolean) or tag = "..." (text), exactly one of them'
            )
        if (self.node is None) == (self.path is None):
            raise ValueError(
                f'{self.name}: give node = "ns=2;s=..." (a NodeId) or path = '
                '"Monitoring/Spindle/ActualSpeed" (a browse path), exactly one'
            )
        if self.node is not None and not _NODE_ID.match(self.node.strip()):
            raise ValueError(
                f"{self.name}: node {self.node!r} is not a NodeId; write it as the "
                'server shows it: "ns=2;s=Spindle.Speed", "ns=3;i=1001" or '
                '"nsu=http://example.com/UA/;s=Speed"'
            )
        if self.path is not None:
            split_path(self.path)
        if self.tag is not None and (self.scale != 1.0 or self.offset != 0.0):
            raise ValueError(f"{self.name}: scale and offset apply to fields, not to a tag")
        refuse_deadband(self, self.field is not None)
        return self

    @property
    def name(self) -> str:
        """The field or tag name."""
        return self.field or self.tag or ""

    @property
    def where(self) -> str:
        """The NodeId or path as written, for messages."""
        return self.node or self.path or ""


class OpcuaDevice(DeviceReporting, IdentityKeys):
    """An OPC UA server (a CNC controller, a PLC, a robot cell) read by the agent."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="unique device name, becomes the device tag")
    url: str = Field(description="endpoint URL: opc.tcp://host:4840[/path]")
    mode: Mode = "poll"
    interval: Duration | None = None
    timeout: Duration = 5.0
    root: str | None = Field(
        default=None, description="browse path (from Objects) or NodeId that node paths start from"
    )
    publishing_interval: Duration = Field(
        default=1.0,
        description="subscribe mode: how often the server sends the changes (and samples the values)",
    )
    max_pending: int = Field(
        default=10_000,
        ge=100,
        le=1_000_000,
        description="subscribe mode: notifications kept between two polls; "
        "past it the oldest are dropped and counted",
    )
    max_nodes_per_read: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="nodes per Read at most; the server's MaxNodesPerRead lowers it",
    )
    policy: Policy = "None"
    security_mode: SecurityMode | None = None
    cert_file: SecretFile | None = None
    key_file: SecretFile | None = None
    trust_dir: TrustDir | None = None
    username: str | None = Field(default=None, min_length=1)
    password_file: SecretFile | None = None
    user_cert_file: SecretFile | None = None
    user_key_file: SecretFile | None = None
    profile: str | None = None
    measurement: Name | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    nodes: list[NodeSpec] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _before(cls, data: Any) -> Any:
        return data

    @model_validator(mode="after")
    def _complete(self) -> OpcuaDevice:
        parts = urlsplit(self.url)
        if parts.scheme != "opc.tcp" or not parts.hostname:
            raise ValueError(
                f"url {self.url!r}: an OPC UA endpoint is opc.tcp://host:port, e.g. "
                '"opc.tcp://192.168.10.20:4840"'
            )
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"url {self.url!r}: the port is not a number") from None
        if parts.username or parts.password:
            raise ValueError("url: no credentials in the URL; use username and password_file")
        if not self.nodes:
            raise ValueError(
                'nothing to read: add profile = "opcua-cnc-umati" (or another '
                "profile) or [[devices.opcua.nodes]]"
            )
        if self.measurement is None:
            raise ValueError('measurement = "..." is needed (a profile sets it)')
        seen: set[str] = set()
        for node in self.nodes:
            key = ("f:" if node.field else "t:") + node.name
            if key in seen:
                raise ValueError(f"{node.name!r} is read twice; each field and tag once")
            seen.add(key)
        if self.root is not None and not _NODE_ID.match(self.root.strip()):
            split_path(self.root)
        self._check_security()
        return self

    def _check_security(self) -> None:
        mode = self.effective_security_mode
        if self.policy == "None" and mode != "None":
            raise ValueError(
                f'security_mode = "{mode}" needs a policy: policy = "Basic256Sha256" '
                "(or Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss)"
            )
        if self.policy != "None" and mode == "None":
            raise ValueError(f'policy = "{self.policy}" needs security_mode = "Sign" or "SignAndEncrypt"')
        if self.policy != "None":
            missing = [k for k in ("cert_file", "key_file", "trust_dir") if getattr(self, k) is None]
            if missing:
                raise ValueError(
                    f"policy {self.policy} needs {', '.join(missing)}: the agent's "
                    "certificate and key (PEM or DER) and a folder of trusted server "
                    "certificates"
                )
        elif self.cert_file is not None or self.key_file is not None:
            raise ValueError(
                "cert_file and key_file secure the channel: set policy = "
                '"Basic256Sha256" and security_mode, or remove them'
            )
        if (self.username is None) != (self.password_file is None):
            raise ValueError("username and password_file go together (the password from a file)")
        if (self.user_cert_file is None) != (self.user_key_file is None):
            raise ValueError("user_cert_file and user_key_file go together (a certificate identity)")
        if self.username is not None and self.user_cert_file is not None:
            raise ValueError("one identity: username/password_file or user_cert_file/user_key_file")

    @property
    def effective_security_mode(self) -> SecurityMode:
        """The message security mode; SignAndEncrypt when a policy is set and no mode."""
        if self.security_mode is not None:
            return self.security_mode
        return "None" if self.policy == "None" else "SignAndEncrypt"

    @property
    def user_identity(self) -> str:
        """anonymous, username or certificate (``identity`` is the asset register's switch)."""
        if self.username is not None:
            return "username"
        return "certificate" if self.user_cert_file is not None else "anonymous"

    @property
    def asset_address(self) -> str:
        """The endpoint URL (it holds no credentials: the model refuses them)."""
        return self.url

    @property
    def pushed(self) -> bool:
        """Polled (in subscribe mode the driver still answers each poll from what arrived)."""
        return False

    def reporting(self) -> tuple[DeviceReporting, list[FieldSettings]]:
        """The device's report keys and each node's that is a field."""
        return self, [(n.field, n, True) for n in self.nodes if n.field is not None]

    def create(self) -> Driver:
        """A driver for this device."""
        return _DRIVER(self)

    def describe(self) -> str:
        """Address, security and cost per poll, for ``edge-agent check``; never a secret."""
        security = "no security" if self.policy == "None" else f"{self.policy}/{self.effective_security_mode}"
        identity = f"user {self.username}" if self.username else self.user_identity
        how = f"subscription every {self.publishing_interval:g}s" if self.mode == "subscribe" else "Read"
        return (
            f"opcua {self.url} ({security}, {identity}): {len(self.nodes)} nodes by {how} "
            f"-> {self.measurement}"
        )


# The driver imports this model; the model names it, so the arrow of imports runs one way.
_DRIVER = Factory[Driver]("drivers.opcua.driver:OpcuaDriver")
