"""BACnet engineering units in the driver: converting values, and checking field names against units.

The table itself, each unit with its field suffix and conversion, is
:mod:`campus_core.bacnet_units`, shared with the point-table import so that a field it names
is one the driver accepts. Here: a field whose suffix names another quantity than its
object's units is a contradiction (:func:`check_field`), found when the device first
answers: the config cannot know the units before. Units not in the table (``no-units``, a
vendor's own) are passed through unconverted and unchecked.

Pure Python: the config model and the scan use it without loading bacpypes3.
"""

from __future__ import annotations

from campus_core.bacnet_units import UNITS, Conversion, conversion, normalise
from campus_core.suffixes import field_suffix

__all__ = ["UNITS", "Conversion", "check_field", "conversion", "normalise", "suffix_of"]


def suffix_of(field: str) -> str | None:
    """The unit suffix a field name ends with (``supply_temp_c`` -> ``c``), None without one.

    Any suffix of the schema counts, not only those the driver writes: ``feeder_voltage_kv``
    on an object in kilovolts says _kv, which the driver writes as _v.
    """
    return field_suffix(field)


def check_field(field: str, units: str | None) -> str | None:
    """Why ``field`` cannot carry a value in ``units``; None when it can (or the unit is unknown)."""
    wanted = conversion(units)
    if wanted is None:
        return None
    if field.endswith(f"_{wanted.suffix}"):
        return None
    shown = normalise(units or "")
    stem = field
    found = suffix_of(field)
    if found is not None:
        stem = field[: -len(found) - 1]
        return (
            f"field {field!r} says _{found} but the object's units are {shown}, which the agent "
            f"writes as _{wanted.suffix}: name it {stem}_{wanted.suffix!s} or read another object"
        )
    return (
        f"field {field!r} has no unit suffix and the object's units are {shown}: name it "
        f"{stem}_{wanted.suffix}"
    )
