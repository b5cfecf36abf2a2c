"""The ``[[devices.modbus]]`` config model: what a technician writes for one Modbus device."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from campus_core import validated
from campus_core.devices import Driver
from campus_core.identity import IdentityKeys
from campus_core.names import Name, SnakeCase
from campus_core.plugins import Factory
from campus_core.reporting import DeviceReporting, FieldReporting, FieldSettings, refuse_deadband
from campus_core.units import Duration

Table = Literal["holding", "input", "coil", "discrete"]
RegisterType = Literal[
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
    "string",
    "bool",
]
#: Byte orders: letters name the bytes of the big-endian value, in the order the device sends
#: them. 4-letter forms also work for 64-bit values (ABCD means ABCDEFGH, CDAB means GHEFCDAB...).
WordOrder = Literal[
    "ABCD",
    "CDAB",
    "BADC",
    "DCBA",
    "ABCDEFGH",
    "GHEFCDAB",
    "BADCFEHG",
    "HGFEDCBA",
]
Transport = Literal["tcp", "rtu-over-tcp", "rtu"]


#: Registers each type occupies (bits for coils and discrete inputs take one address).
TYPE_WIDTH: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "int64": 4,
    "uint64": 4,
    "float32": 2,
    "float64": 4,
    "bool": 1,
}
BIT_TABLES = ("coil", "discrete")
INTEGER_TYPES = ("int16", "uint16", "int32", "uint32", "int64", "uint64")
#: Tags every point carries already; a register may not produce them.
RESERVED_TAGS = frozenset({"school", "campus", "device"})
#: The 8-letter orders, and the 4-letter order each stands for when written on a 32-bit value.
LONG_ORDERS = {"ABCDEFGH": "ABCD", "GHEFCDAB": "CDAB", "BADCFEHG": "BADC", "HGFEDCBA": "DCBA"}
PROTOCOL_MAX_REGISTERS = 125
PROTOCOL_MAX_BITS = 2000


class Register(FieldReporting):
    """One value to read: where it lives, how it is encoded, where it goes (field and/or tag)."""

    model_config = ConfigDict(extra="forbid")

    field: SnakeCase | None = Field(default=None, description="field name with its unit: voltage_v")
    tag: SnakeCase | None = Field(
        default=None, description="tag key for text: a string register or an enum's name"
    )
    table: Table = "holding"
    address: int = Field(ge=0, le=65535, description="PDU address (register 40001 is 0)")
    type: RegisterType | None = None
    order: WordOrder = "ABCD"
    length: int | None = Field(
        default=None, ge=1, le=PROTOCOL_MAX_REGISTERS, description="registers a string spans"
    )
    bit: int | None = Field(default=None, ge=0, le=15, description="one bit of a 16-bit register")
    scale: float = 1.0
    offset: float = 0.0
    enum: dict[int, str] | None = Field(default=None, description="raw value -> name, for a tag")

    @field_validator("enum")
    @classmethod
    def _enum_names(cls, enum: dict[int, str] | None) -> dict[int, str] | None:
        if enum is not None:
            if not enum:
                raise ValueError('an enum needs at least one entry, e.g. { 0 = "idle", 1 = "running" }')
            for raw, name in enum.items():
                if not name.strip():
                    raise ValueError(f"enum value {raw} has an empty name")
        return enum

    @model_validator(mode="after")
    def _consistent(self) -> Register:
        self._settle_type()
        self._check_outputs()
        self._check_order()
        refuse_deadband(self, self.numeric)
        if self.address + self.width > 65536:
            raise ValueError(f"{self.type} at address {self.address} runs past address 65535")
        return self

    def _settle_type(self) -> None:
        if self.table in BIT_TABLES:
            if self.type not in (None, "bool"):
                raise ValueError(
                    f'a {self.table} holds one bit: type must be "bool" (or left out), not {self.type!r}'
                )
            if self.bit is not None:
                raise ValueError(f"bit = N picks a bit of a register; a {self.table} is one bit already")
            self.type = "bool"
        elif self.bit is not None:
            if self.type not in (None, "bool", "uint16", "int16"):
                raise ValueError(
                    f"bit = {self.bit} reads one bit of a 16-bit register; "
                    f'leave type out (or "bool"), not {self.type!r}'
                )
            self.type = "bool"
        elif self.type is None:
            self.type = "string" if self.length is not None else "uint16"
        elif self.type == "bool":
            raise ValueError(
                f'type "bool" on a {self.table} register needs bit = N (0-15) to say which bit; '
                "or use a coil/discrete table, or a number type (int16 uint16 ... float64)"
            )
        if self.type == "string":
            if self.length is None:
                raise ValueError("a string needs length = N: how many registers it spans (2 characters each)")
        elif self.length is not None:
            raise ValueError(f"length is for strings; a {self.type} has a fixed size")

    def _check_outputs(self) -> None:
        if self.type == "string":
            if self.tag is None:
                raise ValueError(
                    "a string goes into a tag (stores keep only numbers in fields): "
                    'set tag = "..." instead of field'
                )
            if self.field is not None:
                raise ValueError(
                    'a string cannot be a field (stores keep only numbers): use tag = "..." alone'
                )
        elif self.enum is not None:
            if self.tag is None:
                raise ValueError(
                    'an enum names the value in a tag: set tag = "..." '
                    '(and field = "..._code" to keep the number too)'
                )
            if self.type not in (*INTEGER_TYPES, "bool"):
                raise ValueError(f"an enum maps whole numbers; a {self.type} is not one")
        elif self.tag is not None:
            raise ValueError("tag is for text: a string register or an enum; a number goes into a field")
        elif self.field is None:
            raise ValueError('say where the value goes: field = "name_unit"')
        if self.type in ("string", "bool") and (self.scale != 1.0 or self.offset != 0.0):
            raise ValueError(f"scale and offset apply to numbers, not to a {self.type}")
        if self.scale == 0:
            raise ValueError("scale = 0 would make every value 0")

    def _check_order(self) -> None:
        width = TYPE_WIDTH.get(self.type or "", 1)
        if self.order in LONG_ORDERS and width != 4:
            raise ValueError(
                f"order {self.order!r} is for 64-bit values; a {self.type} takes "
                f"{LONG_ORDERS[self.order]!r} (or ABCD, CDAB, BADC, DCBA)"
            )

    @property
    def width(self) -> int:
        """Registers (or bits) this value occupies."""
        if self.type == "string":
            return self.length or 1
        return TYPE_WIDTH[self.type or "uint16"]

    @property
    def numeric(self) -> bool:
        """Whether its field is a number (a deadband can measure it), not a bit or text."""
        return self.type not in ("bool", "string")

    @property
    def outputs(self) -> tuple[str, ...]:
        """The field and tag names this register produces."""
        return tuple(name for name in (self.field, self.tag) if name is not None)


TCP_MAX_GAP = 100
SERIAL_MAX_GAP = 16


class ModbusDevice(DeviceReporting, IdentityKeys):
    """A Modbus device polled by the agent: over TCP, RTU over TCP, or RTU on a serial port."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="unique device name, becomes the device tag")
    transport: Transport | None = None
    host: str | None = Field(default=None, min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    serial: str | None = Field(default=None, min_length=1, description="serial port, e.g. /dev/ttyUSB0")
    baudrate: int = Field(default=9600, ge=300, le=921600)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    pause: Duration | None = None
    unit: int = Field(default=1, ge=0, le=255, description="Modbus unit (slave) id")
    interval: Duration | None = None
    timeout: Duration = 3.0
    max_gap: int | None = Field(
        default=None,
        ge=0,
        le=124,
        description="unused registers a read may span (default: 100 on Modbus TCP, 16 on a serial line)",
    )
    max_registers: int = Field(default=PROTOCOL_MAX_REGISTERS, ge=1, le=PROTOCOL_MAX_REGISTERS)
    max_bits: int = Field(default=PROTOCOL_MAX_BITS, ge=1, le=PROTOCOL_MAX_BITS)
    profile: str | None = None
    measurement: Name | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    registers: list[Register] = Field(default_factory=list)

    @field_validator("registers", mode="wrap")
    @classmethod
    def _registers_once(cls, registers: object, handler: ValidatorFunctionWrapHandler) -> list[Register]:
        # Devices of one profile share its registers, validated once (see campus_core.validated).
        result: list[Register] = validated.once(registers, handler)
        return result

    @field_validator("parity", mode="before")
    @classmethod
    def _parity_words(cls, parity: object) -> object:
        # Manuals write "8N1" or "even parity": take both spellings.
        if isinstance(parity, str):
            return {"none": "N", "even": "E", "odd": "O"}.get(parity.lower(), parity.upper())
        return parity

    @model_validator(mode="after")
    def _complete(self) -> ModbusDevice:
        self._settle_transport()
        if self.timeout <= 0:
            raise ValueError('timeout must be more than 0, e.g. "1s"')
        if not self.registers:
            raise ValueError('no registers: add [[devices.modbus.registers]] entries or a profile = "..."')
        if self.measurement is None:
            raise ValueError('no measurement: set measurement = "..." or use a profile')
        seen: set[str] = set()
        for register in self.registers:
            for name in register.outputs:
                if name in seen:
                    raise ValueError(
                        f"{name!r} is produced by two registers; field and tag names must all differ"
                    )
                seen.add(name)
            if register.tag is not None and (register.tag in RESERVED_TAGS or register.tag in self.tags):
                raise ValueError(
                    f"tag {register.tag!r} of the register at {register.table} "
                    f"{register.address} clashes with a tag the device already has; rename it"
                )
            limit = self.max_bits if register.table in BIT_TABLES else self.max_registers
            if register.width > limit:
                raise ValueError(
                    f"{register.outputs[0]!r} spans {register.width} registers, more than "
                    f"one read may take (max_registers = {limit})"
                )
        return self

    def _settle_transport(self) -> None:
        if (self.host is None) == (self.serial is None):
            raise ValueError(
                'say where the device is: host = "10.0.0.5" (Modbus TCP, or a serial server) '
                'or serial = "/dev/ttyUSB0" (RS-485 adapter), not both'
            )
        if self.serial is not None:
            if self.transport not in (None, "rtu"):
                raise ValueError(
                    f'transport {self.transport!r} needs host = "..."; a serial port speaks transport = "rtu"'
                )
            self.transport = "rtu"
        else:
            if self.transport == "rtu":
                raise ValueError(
                    'transport "rtu" is for serial = "/dev/tty..."; for a serial server '
                    'on the network use transport = "rtu-over-tcp" with host and port'
                )
            self.transport = self.transport or "tcp"
        if self.max_gap is None:
            # On TCP a round trip costs far more than reading past unused registers; on a
            # 9600-baud line each register read through costs about 2 ms. A device that
            # refuses a read across a hole is split and remembered (holes.py).
            self.max_gap = SERIAL_MAX_GAP if self.transport != "tcp" else TCP_MAX_GAP

    @property
    def gap(self) -> int:
        """``max_gap`` as set, or the transport's default."""
        if self.max_gap is not None:
            return self.max_gap
        return TCP_MAX_GAP if self.transport in (None, "tcp") else SERIAL_MAX_GAP

    @property
    def link(self) -> LinkSettings:
        """The physical link this device sits on; devices with equal keys share it."""
        return LinkSettings.of(self)

    @property
    def asset_address(self) -> str:
        """The link and the unit id: ``10.0.0.5:502 unit 1``."""
        return f"{self.link.describe()} unit {self.unit}"

    @property
    def pushed(self) -> bool:
        """Polled, not pushed."""
        return False

    def create(self) -> Driver:
        """A driver for this device."""
        return _DRIVER(self)

    def reporting(self) -> tuple[DeviceReporting, list[FieldSettings]]:
        """The device's report keys and each register's that names a field."""
        return self, [(r.field, r, r.numeric) for r in self.registers if r.field is not None]

    def describe(self) -> str:
        """Address and cost per poll, for ``edge-agent check``."""
        requests = _PLAN(self.registers, self.gap, self.max_registers, self.max_bits)
        return (
            f"modbus {self.link.describe()} unit {self.unit}: {len(self.registers)} fields "
            f"in {len(requests)} request(s) -> {self.measurement}"
        )


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """What identifies and configures one physical link."""

    transport: str
    host: str | None = None
    port: int = 502
    serial: str | None = None
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8

    @classmethod
    def of(cls, device: ModbusDevice) -> LinkSettings:
        """The link a configured device sits on."""
        if device.serial is not None:
            return cls(
                "rtu",
                serial=device.serial,
                baudrate=device.baudrate,
                parity=device.parity,
                stopbits=device.stopbits,
                bytesize=device.bytesize,
            )
        return cls(device.transport or "tcp", host=device.host, port=device.port)

    @property
    def key(self) -> tuple[str | int | None, ...]:
        """Devices whose settings have equal keys share one link."""
        if self.serial is not None:
            return ("serial", self.serial)
        return ("tcp", self.host, self.port)

    def describe(self) -> str:
        """``10.0.0.5:502``, ``rtu-over-tcp 10.0.0.9:4001`` or ``/dev/ttyUSB0 9600 8N1``."""
        if self.serial is not None:
            return f"{self.serial} {self.baudrate} {self.bytesize}{self.parity}{self.stopbits}"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        prefix = "rtu-over-tcp " if self.transport == "rtu-over-tcp" else ""
        return f"{prefix}{host}:{self.port}"


# The driver and the planner import this model; the model names them, so that the arrow of
# imports runs one way (config <- decode <- planner <- link <- driver).
_DRIVER = Factory[Driver]("drivers.modbus.driver:ModbusDriver")
_PLAN = Factory[Sequence[object]]("drivers.modbus.planner:plan")
