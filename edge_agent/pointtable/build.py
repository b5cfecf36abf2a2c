"""From a draft to profile entries, validated before anything is written.

Each entry goes through the driver's own model (``drivers.modbus.config.Register``,
``drivers.opcua.config.NodeSpec``), so what the import accepts is exactly what the agent
accepts; then across entries: a field or tag made twice, registers that overlap. Every
problem names the row and the column it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

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
    return keys


def _once(draft: Draft, valid: list[tuple[Entry, BaseModel]]) -> None:
    """Every field and every tag is made by one entry only."""
    seen: dict[tuple[str, str], Entry] = {}
    for entry, model in valid:
        for kind in ("field", "tag"):
            name = getattr(model, kind)
            if name is None:
                continue
            first = seen.setdefault((kind, name), entry)
            if first is not entry:
                draft.problem(
                    entry, kind, f"{kind} {name!r} is also made by row {first.row.number}; each {kind} once"
                )


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


#: Per protocol, what its profile holds. BACnet joins once its driver is in the agent:
#: ``Target("bacnet", "objects", <its object model>, {"host": ...}, ...)``, fed by an EDE reader
#: (formats.py) whose entries carry the keys of ``[[objects]]``.
TARGETS = {
    "modbus": Target("modbus", "registers", Register, {"host": "127.0.0.1"}, _register_keys, _no_overlap),
    "opcua": Target("opcua", "nodes", NodeSpec, {"url": "opc.tcp://127.0.0.1:4840"}, _node_keys, _once),
}

#: Words of a model's message -> the entry key (and so the column) it is about.
_ABOUT = ("length", "bit", "enum", "scale", "offset", "order", "tag", "field", "node", "path", "type")


def _about(message: str, entry: Entry) -> str:
    for key in _ABOUT:
        if key in message and key in entry.columns:
            return key
    return next((k for k in ("type", "address", "node", "path", "field") if k in entry.columns), "field")


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
