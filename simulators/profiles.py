"""Register maps of the simulated device kinds, and their agent profile TOML.

The register map is the contract between the simulator and the agent: the
simulator encodes its values with it, and :func:`render_profile` turns the very
same data into the profile file the agent polls with, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

from .registers import RegType, WordOrder, register_count

Table = Literal["input", "holding", "coil", "discrete"]
Kind = Literal["classroom-iaq", "energy-meter-3ph", "training-machine"]

TABLES: Final[tuple[Table, ...]] = get_args(Table)
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
BIT_TABLES: Final[frozenset[Table]] = frozenset({"coil", "discrete"})


@dataclass(frozen=True)
class RegisterSpec:
    """One mapped value: where it lives and how it is encoded.

    ``order`` and ``scale`` are ``None`` for bit tables (coil/discrete), where
    the type is always ``bool``.
    """

    field: str
    table: Table
    address: int
    type: RegType
    order: WordOrder | None = "ABCD"
    scale: float | None = 1.0

    def __post_init__(self) -> None:
        """Reject specs the encoder could not honour."""
        is_bit_table = self.table in BIT_TABLES
        if is_bit_table != (self.type == "bool"):
            raise ValueError(f"{self.field}: bool type <=> coil/discrete table")
        if is_bit_table and (self.order is not None or self.scale is not None):
            raise ValueError(f"{self.field}: bits have no word order or scale")
        if not is_bit_table and (self.order is None or not self.scale):
            raise ValueError(f"{self.field}: registers need a word order and scale")

    @property
    def count(self) -> int:
        """Registers (or bits) this value occupies."""
        return register_count(self.type)


@dataclass(frozen=True)
class KindInfo:
    """Static description of a device kind."""

    kind: Kind
    measurement: str
    description: str
    registers: tuple[RegisterSpec, ...]


def _f32(field: str, address: int) -> RegisterSpec:
    return RegisterSpec(field, "input", address, "float32", "ABCD", 1.0)


_KINDS: Final[dict[Kind, KindInfo]] = {
    "classroom-iaq": KindInfo(
        kind="classroom-iaq",
        measurement="classroom_env",
        description="classroom indoor air quality sensor",
        registers=(
            RegisterSpec("temperature_c", "input", 0, "int16", "ABCD", 0.1),
            RegisterSpec("humidity_pct", "input", 1, "uint16", "ABCD", 0.1),
            RegisterSpec("co2_ppm", "input", 2, "uint16", "ABCD", 1.0),
            RegisterSpec("pm25_ugm3", "input", 3, "uint16", "ABCD", 1.0),
            RegisterSpec("noise_db", "input", 4, "uint16", "ABCD", 0.1),
            RegisterSpec("light_lux", "input", 5, "uint32", "ABCD", 1.0),
        ),
    ),
    "energy-meter-3ph": KindInfo(
        kind="energy-meter-3ph",
        measurement="energy_meter",
        description="three-phase energy meter, Eastron SDM630 input register map (subset)",
        registers=(
            _f32("voltage_l1_v", 0),
            _f32("voltage_l2_v", 2),
            _f32("voltage_l3_v", 4),
            _f32("current_l1_a", 6),
            _f32("current_l2_a", 8),
            _f32("current_l3_a", 10),
            _f32("power_l1_w", 12),
            _f32("power_l2_w", 14),
            _f32("power_l3_w", 16),
            _f32("power_total_w", 52),
            _f32("frequency_hz", 70),
            _f32("energy_import_kwh", 72),
        ),
    ),
    "training-machine": KindInfo(
        kind="training-machine",
        measurement="training_machine",
        description="training-room machine tool (CNC lathe)",
        registers=(
            RegisterSpec("running", "discrete", 0, "bool", None, None),
            RegisterSpec("alarm", "discrete", 1, "bool", None, None),
            RegisterSpec("spindle_rpm", "holding", 0, "uint16", "ABCD", 1.0),
            RegisterSpec("spindle_load_pct", "holding", 1, "uint16", "ABCD", 0.1),
            RegisterSpec("run_time_h", "holding", 2, "uint32", "CDAB", 0.1),
            RegisterSpec("alarm_code", "holding", 4, "uint16", "ABCD", 1.0),
        ),
    ),
}


def kind_info(kind: str) -> KindInfo:
    """Return the description of ``kind``; raise ``ValueError`` if unknown."""
    try:
        return _KINDS[kind]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"unknown device kind {kind!r}; known: {', '.join(KINDS)}") from None


def register_map(kind: str) -> tuple[RegisterSpec, ...]:
    """Return every register of ``kind`` (field, table, address, type, order, scale)."""
    return kind_info(kind).registers


def table_sizes(kind: str) -> dict[Table, int]:
    """Return, per table the kind uses, how many registers/bits it spans from 0.

    Addresses below that size that no value maps read as 0, like on the real
    SDM630, which answers reads across its whole map.
    """
    sizes: dict[Table, int] = {}
    for spec in register_map(kind):
        sizes[spec.table] = max(sizes.get(spec.table, 0), spec.address + spec.count)
    return sizes


def toml_string(text: str) -> str:
    """Quote ``text`` as a TOML basic string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c >= " " else f"\\u{ord(c):04x}" for c in escaped) + '"'


def render_profile(kind: str) -> str:
    """Render the agent profile TOML of ``kind`` from its register map."""
    info = kind_info(kind)
    lines = [
        f"# {info.kind}: {info.description}",
        f"measurement = {toml_string(info.measurement)}",
        f"tags = {{ kind = {toml_string(info.kind)} }}",
    ]
    for spec in info.registers:
        lines += [
            "",
            "[[registers]]",
            f"field = {toml_string(spec.field)}",
            f"table = {toml_string(spec.table)}",
            f"address = {spec.address}",
            f"type = {toml_string(spec.type)}",
        ]
        if spec.order is not None:
            lines.append(f"order = {toml_string(spec.order)}")
        if spec.scale is not None:
            # repr keeps "1.0" a float in TOML and prints 0.1 exactly as "0.1".
            lines.append(f"scale = {float(spec.scale)!r}")
    return "\n".join(lines) + "\n"
