"""Field names for points a table names in words: the glossary, CamelCase, and the unit's suffix.

A point table names a point as people do (温度, ``Phase 1 Voltage``, Kepware's ``VoltageL1``);
the schema wants ``temperature_c``, ``voltage_l1_v``. The stem comes from the table's field
column, else from the glossary (glossary.toml beside this module), else, for Kepware tag
names, from the name itself in snake_case; the unit column then adds the suffix.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from campus_core.names import is_snake_case
from campus_core.suffixes import converted_by_bacnet, field_suffix, suffix_for_unit, unit_for_suffix

GLOSSARY_FILE = Path(__file__).with_name("glossary.toml")
#: Qualifiers peeled off one name at most: "A相最大电压" is two.
_MAX_QUALIFIERS = 3


class NamingError(ValueError):
    """A point's field name cannot be made, or contradicts its unit; the message says what to write.

    ``column`` is the column to fix: ``"unit"``, ``"field"`` (the field column as given) or
    ``"name"`` (no field given, and the name cannot make one).
    """

    def __init__(self, message: str, column: str) -> None:
        super().__init__(message)
        self.column = column


def _key(name: str) -> str:
    """How names are compared: full-width folded, case-blind, without spaces, ``_`` or ``-``."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\s_\-]+", "", text)


@dataclass(frozen=True)
class Glossary:
    """Common point names -> field stems, and the qualifiers around them (A相 -> l1)."""

    names: dict[str, str]
    qualifiers: dict[str, str]
    #: Stem -> the unit suffixes it can have (voltage: v, kv, mv).
    units: dict[str, tuple[str, ...]]
    #: A unit word -> what it stands for, by quantity (度: kWh for energy, °C for temperature).
    units_by_quantity: dict[str, dict[str, str]]

    @classmethod
    def from_toml(cls, text: str) -> Glossary:
        """A glossary from the text of a glossary file (``[names]`` and ``[qualifiers]``)."""
        data = tomllib.loads(text)
        return cls(
            {_key(k): v for k, v in data.get("names", {}).items()},
            {_key(k): v for k, v in data.get("qualifiers", {}).items()},
            {k: tuple(v) for k, v in data.get("units", {}).items()},
            {k.strip(): dict(v) for k, v in data.get("units_by_quantity", {}).items()},
        )

    def stem(self, name: str) -> str | None:
        """The field stem of a point name, without its unit: ``"A相电压"`` -> ``"voltage_l1"``."""
        found = self.lookup(name)
        return found[1] if found else None

    def lookup(self, name: str) -> tuple[str, str] | None:
        """What a point name names, and its field stem: ``"A相电压"`` -> ``("voltage", "voltage_l1")``."""
        rest = _key(name)
        if not rest:
            return None
        if rest in self.names:
            return self.names[rest], self.names[rest]
        before: list[str] = []
        after: list[str] = []
        # Longest first, so that "phase1" is not read as a stray "1" after "phase".
        ordered = sorted(self.qualifiers, key=len, reverse=True)
        for _ in range(_MAX_QUALIFIERS):
            peeled = next((q for q in ordered if rest.startswith(q) and rest != q), None)
            if peeled is not None:
                rest = rest[len(peeled) :]
                before.append(self.qualifiers[peeled])
            else:
                peeled = next((q for q in ordered if rest.endswith(q) and rest != q), None)
                if peeled is None:
                    return None
                rest = rest[: -len(peeled)]
                after.insert(0, self.qualifiers[peeled])
            if rest in self.names:
                return self.names[rest], "_".join([self.names[rest], *before, *after])
        return None


@functools.cache
def glossary() -> Glossary:
    """The glossary shipped with the agent."""
    return Glossary.from_toml(GLOSSARY_FILE.read_text(encoding="utf-8"))


def snake_case(name: str) -> str:
    """``VoltageL1`` -> ``voltage_l1``, ``CO2Level`` -> ``co2_level``, ``A.Tag 2`` -> ``a_tag_2``."""
    text = unicodedata.normalize("NFKC", name).strip()
    # A capital after a small letter or a digit starts a word; so does the last capital of a run
    # followed by a small letter (HTTPServer -> http_server).
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", text)
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return re.sub(r"_+", "_", text)


def with_unit(stem: str, unit: str, *, named_by_table: bool) -> str:
    """``stem`` with the suffix of ``unit``: ``voltage`` + ``V`` -> ``voltage_v``.

    A stem that already ends with the unit's suffix is kept; one that ends with another unit's
    suffix contradicts the unit. ``named_by_table`` says the stem came from the table's own
    field column: such a name is trusted with a unit the agent does not know, a made-up one is not.
    """
    suffix = suffix_for_unit(unit)
    has = field_suffix(stem)
    if suffix is None:
        if named_by_table:
            return stem
        converted = converted_by_bacnet(unit)
        if converted is not None:
            raise NamingError(
                f"unit {unit!r} is a BACnet unit name, whose values the BACnet driver converts "
                f"(to _{converted.suffix}); in a table write the unit as it is abbreviated "
                "(kV, mA, min, bar, Wh), or the field name with its unit in the field column",
                "unit",
            )
        raise NamingError(
            f"unit {unit!r} is not one the agent knows a field suffix for; write the field name "
            f"with its unit in the field column (e.g. {stem}_<unit>)",
            "unit",
        )
    if not suffix or has == suffix:
        return stem
    if has is not None:
        raise NamingError(
            f"field {stem!r} ends in _{has} ({unit_for_suffix(has)}) but the unit column says {unit!r} "
            f"(_{suffix}); correct one of them",
            "unit",
        )
    return f"{stem}_{suffix}"


def _check_quantity(quantity: str, unit: str) -> None:
    """A quantity the glossary knows is given in one of its units (voltage in V, not in A)."""
    allowed = glossary().units.get(quantity)
    suffix = suffix_for_unit(unit)
    if allowed and suffix and suffix not in allowed:
        units = ", ".join(unit_for_suffix(s) or s for s in allowed)
        raise NamingError(
            f"{quantity.replace('_', ' ')} is given in {units}, not in {unit!r}; correct the unit", "unit"
        )


def name_point(name: str, field: str, unit: str, *, camel: bool = False) -> str:
    """The field name of one point: its field column, else the glossary, else (``camel``) its name.

    Raises :class:`NamingError` with what to write when none of them names it.
    """
    if field:
        if not is_snake_case(field):
            raise NamingError(
                f"field {field!r} must be snake_case: lower-case letters, digits and _, "
                "starting with a letter (e.g. co2_ppm)",
                "field",
            )
        return with_unit(field, unit, named_by_table=True)
    found = glossary().lookup(name) if name else None
    stem = found[1] if found else None
    if found is not None:
        unit = glossary().units_by_quantity.get(unit.strip(), {}).get(found[0], unit)
        _check_quantity(found[0], unit)
    if stem is None and camel and name:
        stem = snake_case(name)
        if not is_snake_case(stem):
            stem = None
    if stem is None:
        what = f"the name {name!r} is not in the glossary" if name else "the row has no name"
        raise NamingError(f"{what}: write the field name in the field column (e.g. temperature_c)", "name")
    return with_unit(stem, unit, named_by_table=False)
