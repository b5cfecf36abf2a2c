"""The MIBs the agent ships: names to OIDs and back, syntaxes and enums, without MIB files.

Each ``<MODULE>.toml`` beside this file holds one MIB module, written from its RFC:
``[objects]`` maps a name to its OID, its ``syntax`` (for scalars and columns) and the
``enum`` that names its values; ``entry = true`` marks a table's row object, so that the
objects under it are known to be columns. ``[enums.<Name>]`` maps numbers to names.
No net-snmp, no pysmi, no IETF MIB files are needed on the gateway.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Oid = tuple[int, ...]
Kind = Literal["scalar", "column", "node"]

FOLDER = Path(__file__).resolve().parent


class MibError(ValueError):
    """A name or OID that cannot be resolved; the message says what would work."""


@dataclass(frozen=True)
class MibObject:
    """One named object of a MIB module."""

    module: str
    name: str
    oid: Oid
    kind: Kind
    syntax: str | None = None
    enum: Mapping[int, str] | None = None

    @property
    def qualified(self) -> str:
        """``MODULE::name``."""
        return f"{self.module}::{self.name}"


@dataclass(frozen=True)
class Resolved:
    """An OID written by a technician, resolved: the OID, the object it names, the instance."""

    oid: Oid
    obj: MibObject | None
    instance: Oid

    @property
    def text(self) -> str:
        """How to show it: ``IF-MIB::ifDescr.3``, or the dotted OID when no MIB names it."""
        if self.obj is None:
            return format_oid(self.oid)
        suffix = "." + format_oid(self.instance) if self.instance else ""
        return self.obj.qualified + suffix


def format_oid(oid: Oid) -> str:
    """``(1, 3, 6)`` -> ``"1.3.6"``."""
    return ".".join(map(str, oid))


def parse_oid(text: str) -> Oid:
    """``"1.3.6.1"`` or ``".1.3.6.1"`` -> a tuple; raise MibError if it is not a dotted OID."""
    parts = text.strip().lstrip(".").split(".")
    try:
        oid = tuple(int(part) for part in parts)
    except ValueError:
        raise MibError(f"{text!r} is not a numeric OID") from None
    if len(oid) < 2 or any(n < 0 or n > 0xFFFFFFFF for n in oid):
        raise MibError(f"{text!r} is not a valid OID (at least two numbers, each 0..4294967295)")
    return oid


class Mibs:
    """The shipped MIB modules, indexed by name and by OID."""

    def __init__(self, objects: list[MibObject], enums: dict[str, dict[int, str]]) -> None:
        self.enums = enums
        self.by_oid: dict[Oid, MibObject] = {}
        self.by_qualified: dict[tuple[str, str], MibObject] = {}
        self.by_name: dict[str, list[MibObject]] = {}
        for obj in objects:
            self.by_oid.setdefault(obj.oid, obj)
            self.by_qualified[(obj.module, obj.name)] = obj
            self.by_name.setdefault(obj.name, []).append(obj)
        self.modules = sorted({obj.module for obj in objects})

    @classmethod
    def load(cls, folder: Path = FOLDER) -> Mibs:
        """Read every ``*.toml`` module in ``folder``."""
        raw: list[tuple[str, str, dict[str, object]]] = []
        enums: dict[str, dict[int, str]] = {}
        for file in sorted(folder.glob("*.toml")):
            data = tomllib.loads(file.read_text(encoding="utf-8"))
            module = str(data["module"])
            for name, spec in data.get("objects", {}).items():
                raw.append((module, name, spec))
            for enum, values in data.get("enums", {}).items():
                enums[enum] = {int(number): str(label) for number, label in values.items()}
        entries = {parse_oid(str(spec["oid"])) for _, _, spec in raw if spec.get("entry")}
        objects = []
        for module, name, spec in raw:
            oid = parse_oid(str(spec["oid"]))
            syntax = spec.get("syntax")
            kind: Kind = "node" if syntax is None else "column" if oid[:-1] in entries else "scalar"
            enum_name = spec.get("enum")
            if enum_name is not None and enum_name not in enums:
                raise MibError(f"{module}::{name}: enum {enum_name!r} is not defined in {folder}")
            objects.append(
                MibObject(
                    module,
                    name,
                    oid,
                    kind,
                    None if syntax is None else str(syntax),
                    enums[str(enum_name)] if enum_name else None,
                )
            )
        return cls(objects, enums)

    def resolve(self, text: str) -> Resolved:
        """Resolve ``IF-MIB::ifHCInOctets``, ``ifHCInOctets``, ``sysUpTime.0`` or ``1.3.6.1.2.1.1.3.0``."""
        text = text.strip()
        if not text:
            raise MibError('an OID is required: a name such as "IF-MIB::ifDescr" or a number')
        if text.lstrip(".")[:1].isdigit():
            oid = parse_oid(text)
            found = self.object_at(oid)
            return Resolved(oid, *found) if found else Resolved(oid, None, ())
        module, _, name = text.rpartition("::")
        name, dot, suffix = name.partition(".")
        instance = parse_oid("0." + suffix)[1:] if dot else ()
        obj = self._named(module, name, text)
        return Resolved(obj.oid + instance, obj, instance)

    def object_at(self, oid: Oid) -> tuple[MibObject, Oid] | None:
        """The most specific object whose OID is a prefix of ``oid``, and what follows it."""
        for end in range(len(oid), 1, -1):
            obj = self.by_oid.get(oid[:end])
            if obj is not None:
                return obj, oid[end:]
        return None

    def name_of(self, oid: Oid) -> str:
        """``IF-MIB::ifDescr.3`` for a known OID, else the dotted OID."""
        found = self.object_at(oid)
        if found is None:
            return format_oid(oid)
        obj, rest = found
        return obj.qualified + ("." + format_oid(rest) if rest else "")

    def _named(self, module: str, name: str, text: str) -> MibObject:
        if module:
            if module not in self.modules:
                raise MibError(
                    f"{text!r}: MIB module {module!r} is not shipped with the agent"
                    f"{_hint(module, self.modules)}; shipped: {', '.join(self.modules)}; "
                    "or give the OID as numbers"
                )
            obj = self.by_qualified.get((module, name))
            if obj is None:
                elsewhere = self.by_name.get(name)
                if elsewhere:
                    raise MibError(f"{text!r}: {name} is defined in {elsewhere[0].module}, not {module}")
                names = [n for (m, n) in self.by_qualified if m == module]
                raise MibError(f"{text!r}: {module} has no object {name!r}{_hint(name, names)}")
            return obj
        candidates = self.by_name.get(name, [])
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            choices = ", ".join(c.qualified for c in candidates)
            raise MibError(f"{text!r} is defined in several modules; write one of {choices}")
        raise MibError(
            f"{text!r}: no MIB object of that name in {', '.join(self.modules)}"
            f"{_hint(name, list(self.by_name))}; or give the OID as numbers"
        )


def _hint(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@functools.cache
def mibs() -> Mibs:
    """The shipped modules, loaded once."""
    return Mibs.load()
