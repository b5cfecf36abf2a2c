"""A device's config compiled once into what each poll does: OIDs to GET, columns to walk,
and for every value the function that turns it into a field or a tag.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Column, ScalarField, SnmpDevice, Table
from .convert import FieldConverter, TagConverter, choose, field_converter, tag_converter
from .mibs import Oid, mibs

UPTIME = mibs().resolve("SNMPv2-MIB::sysUpTime.0").oid


@dataclass(frozen=True)
class Value:
    """One field or tag: its name and how a raw value becomes it."""

    name: str
    tag: bool
    rate: bool
    scale: float
    to_field: FieldConverter
    to_tag: TagConverter | None


@dataclass(frozen=True)
class ScalarSpec:
    """A scalar: the instance to GET and the measurement its value goes to."""

    oid: Oid
    measurement: str
    value: Value


@dataclass(frozen=True)
class ColumnSpec:
    """A column: the OIDs it may be read from (the primary, then the fallback) and helpers."""

    key: tuple[int, int]
    choices: tuple[tuple[Oid, Value], ...]
    multiply: Oid | None
    divide: Oid | None


@dataclass(frozen=True)
class TableSpec:
    """A table: its measurement, the index tag and the columns."""

    number: int
    measurement: str
    index_tag: str
    columns: tuple[ColumnSpec, ...]
    discontinuity: Oid | None


@dataclass(frozen=True)
class Plan:
    """Everything one poll of a device does."""

    scalars: tuple[ScalarSpec, ...]
    get_oids: tuple[Oid, ...]
    tables: tuple[TableSpec, ...]
    uptime: Oid | None


def compile_plan(config: SnmpDevice) -> Plan:
    """The plan of ``config``; sysUpTime is read too whenever a rate needs restart detection."""
    scalars = tuple(
        ScalarSpec(field.resolved.oid, field.measurement or config.measurement or config.name, _value(field))
        for field in config.fields
    )
    tables = tuple(_table(number, table) for number, table in enumerate(config.tables))
    needs_uptime = any(s.value.rate for s in scalars) or any(
        value.rate for t in tables for c in t.columns for _, value in c.choices
    )
    uptime = UPTIME if needs_uptime else None
    get_oids = tuple(dict.fromkeys([*(s.oid for s in scalars), *([uptime] if uptime else [])]))
    return Plan(scalars, get_oids, tables, uptime)


def _value(spec: ScalarField | Column, scale: float | None = None) -> Value:
    scale = spec.scale if scale is None else scale
    conversion = spec.conversion
    obj = spec.resolved.obj
    enum = obj.enum if obj is not None else None
    return Value(
        spec.name,
        spec.tag,
        spec.rate,
        scale,
        field_converter(conversion, scale),
        tag_converter(conversion, enum) if spec.tag else None,
    )


def _table(number: int, table: Table) -> TableSpec:
    columns = []
    for index, column in enumerate(table.columns):
        choices = [(column.resolved.oid, _value(column))]
        if column.fallback_resolved is not None:
            fallback_scale = column.fallback_scale if column.fallback_scale is not None else column.scale
            choices.append((column.fallback_resolved.oid, _fallback_value(column, fallback_scale)))
        columns.append(
            ColumnSpec(
                (number, index),
                tuple(choices),
                column.multiply_resolved.oid if column.multiply_resolved else None,
                column.divide_resolved.oid if column.divide_resolved else None,
            )
        )
    discontinuity = table.discontinuity_resolved.oid if table.discontinuity_resolved else None
    return TableSpec(number, table.measurement, table.index_tag, tuple(columns), discontinuity)


def _fallback_value(column: Column, scale: float) -> Value:
    """The fallback column converts by its own MIB syntax (ifSpeed in bps, ifHighSpeed in Mbps)."""
    assert column.fallback_resolved is not None
    obj = column.fallback_resolved.obj
    conversion = choose(obj, column.convert)
    if not column.tag and conversion == "name":
        conversion = "number"
    enum = obj.enum if obj is not None else None
    return Value(
        column.name,
        column.tag,
        column.rate,
        scale,
        field_converter(conversion, scale),
        tag_converter(conversion, enum) if column.tag else None,
    )
