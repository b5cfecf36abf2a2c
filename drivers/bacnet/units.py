"""BACnet engineering units in the schema's terms: the field suffix each one gets, and the conversion.

A BACnet object states its unit (``units``, an enumeration such as ``degrees-fahrenheit``);
the schema wants SI or the trade's usual unit in the field name (``_c``, ``_kw``, ``_m3h``).
:data:`UNITS` maps each unit the driver knows to the suffix its field must carry and the
``value * scale + offset`` that brings it there, so a VAV box in °F and one in °C both
write ``zone_temp_c``. A field whose suffix names another quantity is a contradiction
(:func:`check_field`), found when the device first answers: the config cannot know the
units before. Units not in the table (``no-units``, a vendor's own) are passed through
unconverted and unchecked.

Pure Python: the config model and the scan use it without loading bacpypes3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SUFFIXES", "UNITS", "Conversion", "check_field", "conversion", "normalise", "suffix_of"]


@dataclass(frozen=True, slots=True)
class Conversion:
    """``value * scale + offset`` gives the value in the unit of ``suffix``."""

    suffix: str
    scale: float = 1.0
    offset: float = 0.0

    def apply(self, value: float) -> float:
        """The value in the schema's unit."""
        return value * self.scale + self.offset


_BTU_H_KW = 0.00029307107
_KBTU_KWH = 0.29307107

#: BACnet unit name (hyphenated, as bacpypes3 and most BACnet tools print it) -> conversion.
UNITS: dict[str, Conversion] = {
    # temperature
    "degrees-celsius": Conversion("c"),
    "degrees-fahrenheit": Conversion("c", 5 / 9, -160 / 9),
    "degrees-kelvin": Conversion("c", 1.0, -273.15),
    "delta-degrees-kelvin": Conversion("k"),
    "delta-degrees-fahrenheit": Conversion("k", 5 / 9),
    # humidity, positions, shares
    "percent-relative-humidity": Conversion("pct"),
    "percent": Conversion("pct"),
    "percent-open": Conversion("pct"),
    # air quality
    "parts-per-million": Conversion("ppm"),
    "parts-per-billion": Conversion("ppb"),
    "micrograms-per-cubic-meter": Conversion("ugm3"),
    # power and energy
    "watts": Conversion("w"),
    "kilowatts": Conversion("kw"),
    "megawatts": Conversion("kw", 1000.0),
    "btus-per-hour": Conversion("kw", _BTU_H_KW),
    "kilo-btus-per-hour": Conversion("kw", _BTU_H_KW * 1000),
    "tons-refrigeration": Conversion("kw", 3.5168525),
    "horsepower": Conversion("kw", 0.7456999),
    "kilowatt-hours": Conversion("kwh"),
    "watt-hours": Conversion("kwh", 0.001),
    "megawatt-hours": Conversion("kwh", 1000.0),
    "kilo-btus": Conversion("kwh", _KBTU_KWH),
    "btus": Conversion("kwh", _KBTU_KWH / 1000),
    "kilojoules": Conversion("kwh", 1 / 3600),
    "megajoules": Conversion("kwh", 1 / 3.6),
    "ton-hours": Conversion("kwh", 3.5168525),
    # electricity
    "volts": Conversion("v"),
    "kilovolts": Conversion("v", 1000.0),
    "millivolts": Conversion("v", 0.001),
    "amperes": Conversion("a"),
    "milliamperes": Conversion("a", 0.001),
    "hertz": Conversion("hz"),
    "power-factor": Conversion("pf"),
    # pressure: ducts in Pa, water in kPa, as the trade writes them
    "pascals": Conversion("pa"),
    "hectopascals": Conversion("pa", 100.0),
    "millibars": Conversion("pa", 100.0),
    "inches-of-water": Conversion("pa", 249.08891),
    "kilopascals": Conversion("kpa"),
    "bars": Conversion("kpa", 100.0),
    "pounds-force-per-square-inch": Conversion("kpa", 6.8947573),
    # air and water flow
    "cubic-meters-per-hour": Conversion("m3h"),
    "cubic-meters-per-second": Conversion("m3h", 3600.0),
    "cubic-meters-per-minute": Conversion("m3h", 60.0),
    "liters-per-second": Conversion("m3h", 3.6),
    "liters-per-minute": Conversion("m3h", 0.06),
    "liters-per-hour": Conversion("m3h", 0.001),
    "cubic-feet-per-minute": Conversion("m3h", 1.6990108),
    "us-gallons-per-minute": Conversion("m3h", 0.22712471),
    # light, speed, time, volume, mass, sound
    "luxes": Conversion("lux"),
    "foot-candles": Conversion("lux", 10.76391),
    "revolutions-per-minute": Conversion("rpm"),
    "meters-per-second": Conversion("mps"),
    "feet-per-minute": Conversion("mps", 0.00508),
    "seconds": Conversion("s"),
    "minutes": Conversion("s", 60.0),
    "hours": Conversion("h"),
    "cubic-meters": Conversion("m3"),
    "liters": Conversion("m3", 0.001),
    "us-gallons": Conversion("m3", 0.0037854118),
    "cubic-feet": Conversion("m3", 0.028316847),
    "kilograms": Conversion("kg"),
    "decibels-a": Conversion("db"),
    "decibels": Conversion("db"),
}

#: Every suffix a unit leads to, longest first (so ``_kwh`` is found before ``_h``).
SUFFIXES: tuple[str, ...] = tuple(sorted({c.suffix for c in UNITS.values()}, key=lambda s: (-len(s), s)))

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise(name: str) -> str:
    """``degreesFahrenheit`` or ``degrees_fahrenheit`` -> ``degrees-fahrenheit``."""
    return _CAMEL.sub("-", name.strip()).replace("_", "-").lower()


def conversion(units: str | None) -> Conversion | None:
    """The conversion for a BACnet unit name, None when the driver does not know it."""
    if not units:
        return None
    return UNITS.get(normalise(units))


def suffix_of(field: str) -> str | None:
    """The unit suffix a field name ends with (``supply_temp_c`` -> ``c``), None without one."""
    return next((s for s in SUFFIXES if field.endswith(f"_{s}")), None)


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
