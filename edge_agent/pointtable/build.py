"""From a draft to profile entries, validated before anything is written.

Each entry goes through the driver's own model (``drivers.modbus.config.Register``,
``drivers.opcua.config.NodeSpec``, ``drivers.bacnet.config.ObjectSpec``), so what the import
accepts is exactly what the agent accepts; then across entries: a field or tag made twice,
registers that overlap, an object read twice. Every problem names the row and the column it
came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from campus_core.reporting import FieldReporting
from drivers.bacnet.config import ObjectSpec
from drivers.modbus.config import TYPE_WIDTH, Register
from drivers.opcua.config import NodeSpec

from .draft import Draft, Entry, Options


@dataclass(frozen=True)
class Target:
    """What a protocol's profile holds: its list of entries, the model of one, a device to try it on."""

    protocol: str
    section: str
    model: type[BaseModel]
    #: The keys a minimal device entry needs besides ``name`` and ``profile`` (for the loader check).
    device: dict[str, object]
    #: Writes one validated entry back as profile keys, defaults left out.
    keys: Callable[[BaseModel], dict[str, object]]
    #: Checks across entries, after each entry is valid.
    across: Callable[[Draft, list[tuple[Entry, BaseModel]]], None]


def _register_keys(model: BaseModel) -> dict[str, object]:
    assert isinstance(model, Register)
    keys: dict[str, object] = {}
    for name in ("field", "tag", "table", "address", "type"):
        if getattr(model, name) is not None:
            keys[name] = getattr(model, name)
    # The word order is written for every value it matters to, so a reviewer sees what was assumed.
    if (model.width > 1 and model.type != "string") or model.order != "ABCD":
        keys["order"] = model.order
    for name in ("length", "bit"):
        if getattr(model, name) is not None:
            keys[name] = getattr(model, name)
    if model.scale != 1.0:
        keys["scale"] = model.scale
    if model.offset != 0.0:
        keys["offset"] = model.offset
    if model.enum is not None:
        keys["enum"] = dict(model.enum)
    keys.update(_report_keys(model))
    return keys


def _node_keys(model: BaseModel) -> dict[str, object]:
    assert isinstance(model, NodeSpec)
    keys: dict[str, object] = {}
    for name in ("field", "tag", "node", "path"):
        if getattr(model, name) is not None:
            keys[name] = getattr(model, name)
    if model.scale != 1.0:
        keys["scale"] = model.scale
    if model.offset != 0.0:
        keys["offset"] = model.offset
    keys.update(_report_keys(model))
    return keys


def _object_keys(model: BaseModel) -> dict[str, object]:
    assert isinstance(model, ObjectSpec)
    # In the order the bundled BACnet profiles write them: the object first, then what it becomes.
    keys: dict[str, object] = {}
    for name in ("object", "name"):
        if getattr(model, name) is not None:
            keys[name] = getattr(model, name)
    if model.property != "present-value":
        keys["property"] = model.property
    for name in ("field", "tag", "state_tag"):
        if getattr(model, name) is not None:
            keys[name] = getattr(model, name)
    keys.update(_report_keys(model))
    return keys


def _report_keys(model: FieldReporting) -> dict[str, object]:
    """A point's own deadband (report on change), when it sets one."""
    return {
        name: getattr(model, name)
        for name in ("deadband", "deadband_pct")
        if getattr(model, name) is not None
    }


def _once(draft: Draft, valid: list[tuple[Entry, BaseModel]]) -> None:
    """Every field and every tag is made by one entry only (a multi-state's ``state_tag`` is a tag)."""
    seen: dict[tuple[str, str], Entry] = {}
    for entry, model in valid:
        for key, kind in (("field", "field"), ("tag", "tag"), ("state_tag", "tag")):
            name = getattr(model, key, None)
            if name is None:
                continue
            first = seen.setdefault((kind, name), entry)
            if first is not entry:
                draft.problem(
                    entry, key, f"{kind} {name!r} is also made by row {first.row.number}; each {kind} once"
                )


def _objects_once(draft: Draft, valid: list[tuple[Entry, BaseModel]]) -> None:
    """Fields and tags once, and each property of an object read by one entry only."""
    _once(draft, valid)
    seen: dict[tuple[str, str], Entry] = {}
    for entry, model in valid:
        assert isinstance(model, ObjectSpec)
        first = seen.setdefault((model.where, model.property), entry)
        if first is not entry:
            draft.problem(entry, "object", f"{model.where} is also read by row {first.row.number}")


def _no_overlap(draft: Draft, valid: list[tuple[Entry, BaseModel]]) -> None:
    """Registers of one table do not overlap; bits of one register are each read once."""
    _once(draft, valid)
    registers = [(e, m) for e, m in valid if isinstance(m, Register)]
    bits: dict[tuple[str, int, int], Entry] = {}
    for entry, register in registers:
        if register.bit is not None:
            first = bits.setdefault((register.table, register.address, register.bit), entry)
            if first is not entry:
                draft.problem(
                    entry,
                    "bit",
                    f"bit {register.bit} of {register.table} {register.address} is also "
                    f"read by row {first.row.number}",
                )
    words = sorted(
        ((e, r) for e, r in registers if r.bit is None),
        key=lambda pair: (pair[1].table, pair[1].address),
    )
    reach: dict[str, tuple[int, Entry, Register]] = {}
    for entry, register in words:
        end = register.address + register.width
        last = reach.get(register.table)
        if last is not None and register.address < last[0]:
            _, other, wide = last
            draft.problem(
                entry,
                "address",
                f"{_span(register)} overlaps {_span(wide)} of row {other.row.number}; "
                "check the addresses and types of both",
            )
        if last is None or end > last[0]:
            reach[register.table] = (end, entry, register)


def _span(register: Register) -> str:
    last = register.address + register.width - 1
    where = f"{register.table} {register.address}" + (f"-{last}" if last > register.address else "")
    return f"{register.type} at {where}"


#: Per protocol, what its profile holds; the readers (formats.py) make entries with its keys.
TARGETS = {
    "modbus": Target("modbus", "registers", Register, {"host": "127.0.0.1"}, _register_keys, _no_overlap),
    "opcua": Target("opcua", "nodes", NodeSpec, {"url": "opc.tcp://127.0.0.1:4840"}, _node_keys, _once),
    "bacnet": Target("bacnet", "objects", ObjectSpec, {"address": "127.0.0.1"}, _object_keys, _objects_once),
}

#: Words of a model's message -> the entry key (and so the column) it is about.
_ABOUT = (
    "deadband_pct", "deadband", "length", "bit", "enum", "scale", "offset", "order", "state_tag", "tag",
    "field", "node", "path", "property", "object", "type",
)  # fmt: skip


def _about(message: str, entry: Entry) -> str:
    for key in _ABOUT:
        if key in message and key in entry.columns:
            return key
    return next(
        (k for k in ("type", "address", "node", "path", "object", "name", "field") if k in entry.columns),
        "field",
    )


def _prepare_register(draft: Draft, entry: Entry, options: Options) -> bool:
    """Word order from ``--order`` where the table gave none; a string's length is required."""
    kind = entry.keys.get("type")
    if isinstance(kind, str) and TYPE_WIDTH.get(kind, 1) > 1 and "order" not in entry.keys:
        entry.keys["order"] = options.order
    if kind == "string" and "length" not in entry.keys:
        draft.problem(
            entry,
            "type",
            "a string needs its length: the registers it spans (length column, 2 characters each), "
            "or an address such as 400031.8H (8 characters)",
        )
        return False
    return True


def build(draft: Draft, options: Options) -> list[tuple[Entry, dict[str, object]]]:
    """The validated entries of ``draft`` as profile keys; problems are added to the draft."""
    target = TARGETS[options.protocol]
    valid: list[tuple[Entry, BaseModel]] = []
    for entry in draft.entries:
        if entry.failed:
            continue
        if options.protocol == "modbus" and not _prepare_register(draft, entry, options):
            continue
        try:
            valid.append((entry, target.model.model_validate(entry.keys)))
        except ValidationError as exc:
            for error in exc.errors():
                message = str(error["msg"]).removeprefix("Value error, ")
                loc = error["loc"]
                key = str(loc[0]) if loc else _about(message, entry)
                draft.problem(entry, key, message)
    target.across(draft, valid)
    return [(entry, target.keys(model)) for entry, model in valid]
