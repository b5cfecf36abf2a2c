"""The ``[[devices.bacnet]]`` config model: what a technician writes for one BACnet/IP device.

A device is reached at ``address`` (``host[:port]``), or through a BACnet router at
``address`` by ``network`` and ``mac``. Each object is named by type and instance
(``object = "analog-input,1"``) or by its object name (``name = "AHU-1 SAT"``), read for
``property`` (default ``present-value``) into a field or a tag. The agent's own UDP endpoint
(``local_address``, ``port``) and the foreign-device registration with a BBMD (``bbmd``,
``bbmd_ttl``) are per device, and devices that name the same endpoint share one socket.
Everything that can be checked without the device is checked here, so ``edge-agent check``
finds it; what needs the device (its units, whether it has the object) is checked when the
device first answers.
"""

from __future__ import annotations

import builtins
import ipaddress
import re
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from campus_core.devices import Driver
from campus_core.identity import IdentityKeys
from campus_core.names import Name, SnakeCase
from campus_core.plugins import Factory
from campus_core.reporting import DeviceReporting, FieldReporting, FieldSettings, refuse_deadband
from campus_core.units import Duration

from .units import normalise

__all__ = ["ANALOG", "BINARY", "MULTI_STATE", "BacnetDevice", "ObjectSpec", "split_host_port"]

Mode = Literal["poll", "cov"]

#: Object types whose present value is a number.
ANALOG = frozenset(
    {
        "analog-input",
        "analog-output",
        "analog-value",
        "large-analog-value",
        "integer-value",
        "positive-integer-value",
        "accumulator",
        "pulse-converter",
        "loop",
    }
)
#: Object types whose present value is active/inactive: a boolean field.
BINARY = frozenset({"binary-input", "binary-output", "binary-value"})
#: Object types whose present value is a state number (1..n), with a state text per number.
MULTI_STATE = frozenset({"multi-state-input", "multi-state-output", "multi-state-value"})
#: Object types whose present value is text: a tag.
TEXT = frozenset({"characterstring-value"})
#: The device object itself: its status and counters (``property = "system-status"``).
DEVICE = frozenset({"device"})
KNOWN_TYPES = ANALOG | BINARY | MULTI_STATE | TEXT | DEVICE

DEFAULT_PORT = 47808
MAX_INSTANCE = 4194302  # 4194303 is the wildcard
_PROPERTY = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_OBJECT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_-]*)\s*[,:]\s*(\d+)\s*$")


def split_host_port(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``"10.31.2.40"`` -> ``("10.31.2.40", 47808)``; ``"10.31.2.40:47809"`` keeps its port.

    ValueError, in a technician's words, for anything else: BACnet/IP addresses are IPv4.
    """
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = text.strip(), str(default_port)
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an IPv4 address with an optional port; write it as "
            '"192.168.10.40" or "192.168.10.40:47808" (BACnet/IP devices are reached by address)'
        ) from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535 (BACnet's is 47808)")
    return host, int(port)


def parse_object(text: str) -> tuple[str, int]:
    """``"analog-input,1"`` (or ``analogInput:1``) -> ``("analog-input", 1)``; ValueError naming the forms."""
    match = _OBJECT.match(text)
    if match is None:
        raise ValueError(
            f'object {text!r} is not "type,instance"; write it as the device lists it: '
            '"analog-input,1", "binary-value,3", "multi-state-value,2"'
        )
    kind, instance = normalise(match.group(1)), int(match.group(2))
    if kind not in KNOWN_TYPES:
        raise ValueError(
            f"object {text!r}: the agent reads {', '.join(sorted(KNOWN_TYPES))}; {kind!r} is not one of them"
        )
    if instance > MAX_INSTANCE:
        raise ValueError(f"object {text!r}: the instance must be 0..{MAX_INSTANCE}")
    return kind, instance


class ObjectSpec(FieldReporting):
    """One value to read (``[[devices.bacnet.objects]]``): an object, its property, its field or tag."""

    model_config = ConfigDict(extra="forbid")

    object: str | None = Field(default=None, description='type and instance: "analog-input,1"')
    name: str | None = Field(default=None, min_length=1, description="or the object's name on the device")
    property: str = Field(default="present-value", description="the property to read")
    field: SnakeCase | None = Field(default=None, description="field name, snake_case with its unit")
    tag: SnakeCase | None = Field(default=None, description="tag key, for a text value")
    state_tag: SnakeCase | None = Field(
        default=None, description="multi-state objects: also put the state's text into this tag"
    )

    @field_validator("property")
    @classmethod
    def _property(cls, value: str) -> str:
        name = normalise(value)
        if not _PROPERTY.match(name):
            raise ValueError(
                f"property {value!r} is not a BACnet property name; write it as "
                '"present-value", "high-limit" or "relinquish-default"'
            )
        return name

    @model_validator(mode="after")
    def _check(self) -> ObjectSpec:
        if (self.object is None) == (self.name is None):
            raise ValueError(
                'give object = "analog-input,1" (type and instance) or name = "..." (the '
                "object's name on the device), exactly one"
            )
        if self.object is not None:
            kind, instance = parse_object(self.object)
            self.object = f"{kind},{instance}"
            if kind == "device" and self.property == "present-value":
                raise ValueError(
                    f"{self.object}: a device object has no present-value; read e.g. "
                    'property = "system-status"'
                )
        if (self.field is None) == (self.tag is None):
            raise ValueError(
                f'{self.where}: give field = "..." (a number or a state) or tag = "..." (text), exactly one'
            )
        if self.state_tag is not None:
            if self.field is None:
                raise ValueError(f"{self.where}: state_tag goes with a field (the state's number)")
            if self.kind is not None and self.kind not in MULTI_STATE:
                raise ValueError(
                    f"{self.where}: state_tag is for multi-state objects (their state text), not {self.kind}"
                )
            if self.property != "present-value":
                raise ValueError(f"{self.where}: state_tag names the text of the present value only")
        refuse_deadband(self, self.numeric)
        return self

    @builtins.property
    def numeric(self) -> bool:
        """Whether its field is a number a deadband can measure (a binary object's is a boolean)."""
        return self.field is not None and self.kind not in BINARY

    @builtins.property
    def kind(self) -> str | None:
        """The object type when named by type and instance (``analog-input``), else None."""
        return None if self.object is None else self.object.split(",")[0]

    @builtins.property
    def key(self) -> str:
        """The field or tag name."""
        return self.field or self.tag or ""

    @builtins.property
    def where(self) -> str:
        """The object as written, for messages: ``analog-input,1`` or ``name 'AHU-1 SAT'``."""
        return self.object if self.object is not None else f"name {self.name!r}"


class BacnetDevice(DeviceReporting, IdentityKeys):
    """A BACnet/IP device (an AHU or VAV controller, a fan-coil unit, a BMS panel) read by the agent."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="unique device name, becomes the device tag")
    address: str = Field(description='"host[:port]" of the device, or of the router in front of it')
    device_instance: int | None = Field(
        default=None, ge=0, le=MAX_INSTANCE, description="the device object's instance, if known"
    )
    network: int | None = Field(
        default=None, ge=1, le=65534, description="behind a BACnet router: the device's network number"
    )
    mac: str | None = Field(
        default=None, description="behind a router: the device's MAC on that network (MS/TP: 0..127)"
    )
    mode: Mode = "poll"
    interval: Duration | None = None
    timeout: Duration = Field(default=3.0, description="wait per request (no retries)")
    cov_lifetime: Duration = Field(
        default=300.0, description="cov mode: subscription lifetime; renewed at half of it"
    )
    max_objects_per_request: int = Field(
        default=64, ge=1, le=1000, description="objects per ReadPropertyMultiple at most"
    )
    local_address: str = Field(
        default="0.0.0.0", description="the gateway's own IPv4 address for BACnet (0.0.0.0: any)"
    )
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535, description="the agent's own UDP port")
    bbmd: str | None = Field(default=None, description='"host[:port]" of a BBMD to register with')
    bbmd_ttl: Duration = Field(default=300.0, description="foreign-device registration time to live")
    profile: str | None = None
    measurement: Name | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    objects: list[ObjectSpec] = Field(default_factory=list)

    @field_validator("address", "bbmd")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            split_host_port(value)
        return value

    @field_validator("local_address")
    @classmethod
    def _local(cls, value: str) -> str:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an IPv4 address; give the gateway's address on the BACnet "
                'network (e.g. "192.168.10.5"), or "0.0.0.0" for any'
            ) from None
        return value

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip().lower()
        if text.isdigit() and 0 <= int(text) <= 255:
            return text
        if re.fullmatch(r"0x([0-9a-f]{2}){1,7}", text):
            return text
        try:
            host, port = split_host_port(text)
        except ValueError:
            raise ValueError(
                f"mac {value!r}: write an MS/TP station as its number (0..127), a BACnet/IP "
                'device behind the router as "host:port", or any other MAC in hex ("0x0a0b")'
            ) from None
        return f"{host}:{port}"

    @model_validator(mode="after")
    def _complete(self) -> BacnetDevice:
        if (self.network is None) != (self.mac is None):
            raise ValueError(
                "network and mac go together: a device behind a BACnet router is reached by "
                "its network number and its MAC on that network (address is then the router's)"
            )
        if not self.objects:
            raise ValueError(
                'nothing to read: add profile = "bacnet-ahu" (or another profile) or '
                "[[devices.bacnet.objects]]"
            )
        if self.measurement is None:
            raise ValueError('measurement = "..." is needed (a profile sets it)')
        seen: set[str] = set()
        for spec in self.objects:
            for key in [("f:" if spec.field else "t:") + spec.key] + (
                [f"t:{spec.state_tag}"] if spec.state_tag else []
            ):
                if key in seen:
                    raise ValueError(f"{key[2:]!r} is written twice; each field and tag once")
                seen.add(key)
        if self.mode == "cov" and self.cov_lifetime < 10:
            raise ValueError("cov_lifetime: at least 10s, so the renewal at half of it has time to answer")
        if not 1 <= self.bbmd_ttl <= 65535:
            raise ValueError("bbmd_ttl: from 1s to 65535s (the BBMD keeps the registration this long)")
        return self

    @property
    def endpoint(self) -> tuple[str, int]:
        """The device's (or router's) IPv4 address and UDP port."""
        return split_host_port(self.address)

    @property
    def pushed(self) -> bool:
        """Polled (in cov mode the driver still answers each poll from what was notified)."""
        return False

    def reporting(self) -> tuple[DeviceReporting, list[FieldSettings]]:
        """The device's report keys and each object's that is a field."""
        return self, [(o.field, o, o.numeric) for o in self.objects if o.field is not None]

    def create(self) -> Driver:
        """A driver for this device."""
        return _DRIVER(self)

    @property
    def asset_address(self) -> str:
        """``host:port``, and the network and MAC behind a router: where the register finds it."""
        behind = f" network {self.network} mac {self.mac}" if self.network is not None else ""
        return f"{self.address}{behind}"

    def describe(self) -> str:
        """Address and cost per poll, for ``edge-agent check``."""
        where = f"bacnet {self.address}"
        if self.network is not None:
            where += f" network {self.network} mac {self.mac}"
        if self.device_instance is not None:
            where += f" device {self.device_instance}"
        how = f"COV, lifetime {self.cov_lifetime:g}s" if self.mode == "cov" else "ReadPropertyMultiple"
        via = f", foreign device of {self.bbmd}" if self.bbmd else ""
        return f"{where} (port {self.port}{via}): {len(self.objects)} objects by {how} -> {self.measurement}"


# The driver imports this model; the model names it, so the arrow of imports runs one way.
_DRIVER = Factory[Driver]("drivers.bacnet:BacnetDriver")
