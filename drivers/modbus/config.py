"""The ``[[devices.modbus]]`` config model: what a technician writes for one Modbus device."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge_agent.units import Duration

if TYPE_CHECKING:
    from . import ModbusDriver

Table = Literal["holding", "input", "coil", "discrete"]
RegisterType = Literal["int16", "uint16", "int32", "uint32", "float32", "bool"]
WordOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]

SNAKE_CASE = r"^[a-z][a-z0-9_]*$"
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

#: Registers each type occupies (bits for coils and discrete inputs take one address).
TYPE_WIDTH: dict[str, int] = {
    "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "bool": 1,
}
BIT_TABLES = ("coil", "discrete")


class Register(BaseModel):
    """One value to read: where it lives, how it is encoded, how it is scaled."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(pattern=SNAKE_CASE, description="field name with its unit: voltage_v")
    table: Table = "holding"
    address: int = Field(ge=0, le=65535, description="PDU address (register 40001 is 0)")
    type: RegisterType | None = None
    order: WordOrder = "ABCD"
    scale: float = 1.0
    offset: float = 0.0

    @model_validator(mode="after")
    def _type_fits_table(self) -> Register:
        if self.table in BIT_TABLES:
            if self.type not in (None, "bool"):
                raise ValueError(
                    f"a {self.table} holds one bit: type must be \"bool\" (or left out), "
                    f"not {self.type!r}"
                )
            self.type = "bool"
        elif self.type is None:
            self.type = "uint16"
        elif self.type == "bool":
            raise ValueError(
                f"type \"bool\" is for coil and discrete tables; a {self.table} register "
                "holds a number (int16 uint16 int32 uint32 float32)"
            )
        if self.address + self.width > 65536:
            raise ValueError(f"{self.type} at address {self.address} runs past address 65535")
        return self

    @property
    def width(self) -> int:
        """Registers (or bits) this value occupies."""
        return TYPE_WIDTH[self.type or "uint16"]


class ModbusDevice(BaseModel):
    """A Modbus TCP device polled by the agent."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, description="unique device name, becomes the device tag")
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    unit: int = Field(default=1, ge=0, le=255, description="Modbus unit (slave) id")
    interval: Duration | None = None
    timeout: Duration = 3.0
    max_gap: int = Field(default=16, ge=0, le=120, description="unused registers a read may span")
    profile: str | None = None
    measurement: str | None = Field(default=None, pattern=NAME)
    tags: dict[str, str] = Field(default_factory=dict)
    registers: list[Register] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> ModbusDevice:
        if not self.registers:
            raise ValueError(
                "no registers: add [[devices.modbus.registers]] entries or a profile = \"...\""
            )
        if self.measurement is None:
            raise ValueError("no measurement: set measurement = \"...\" or use a profile")
        seen: set[str] = set()
        for register in self.registers:
            if register.field in seen:
                raise ValueError(f"field {register.field!r} is defined twice")
            seen.add(register.field)
        return self

    def create(self) -> ModbusDriver:
        """A driver for this device."""
        from . import ModbusDriver

        return ModbusDriver(self)

    def describe(self) -> str:
        """Address and cost per poll, for ``edge-agent check``."""
        from .planner import plan

        return (f"modbus {self.host}:{self.port} unit {self.unit}: {len(self.registers)} fields "
                f"in {len(plan(self.registers, self.max_gap))} request(s) -> {self.measurement}")
