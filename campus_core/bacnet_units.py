"""BACnet engineering units in the schema's terms: one table for the BACnet driver and the point tables.

A BACnet object states its unit (``units``, the EngineeringUnits enumeration: ``62`` on the
wire, ``degrees-celsius`` in bacpypes3 and most tools, ``degreesCelsius`` in others); the
schema wants SI or the trade's usual unit in the field name (``_c``, ``_kw``, ``_m3h``).
Each unit the agent knows has one row here: its name, its number, and the
:class:`Conversion` (``value * scale + offset``) into the unit of the field suffix it gets,
so a VAV box in °F and one in °C both write ``zone_temp_c``.

Everything that names or reads a BACnet value uses this table and no other: the driver
converts with it and checks field names against it, ``edge-agent scan bacnet`` drafts
names from it, ``edge-agent import points`` names the objects of an EDE file from it
(by number), and :mod:`campus_core.suffixes` answers for a unit text that is a BACnet name
from it. So a field the importer names is a field the driver accepts.

Pure Python, without bacpypes3: a gateway without BACnet devices never loads it. The numbers
are those of bacpypes3's own enumeration (tests/core/test_bacnet_units.py checks each).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "NUMBERS",
    "UNITLESS",
    "UNITS",
    "Conversion",
    "conversion",
    "name_of",
    "normalise",
    "suffix_of_units",
]


@dataclass(frozen=True, slots=True)
class Conversion:
    """``value * scale + offset`` gives the value in the unit of ``suffix``."""

    suffix: str
    scale: float = 1.0
    offset: float = 0.0

    def apply(self, value: float) -> float:
        """The value in the schema's unit."""
        return value * self.scale + self.offset

    @property
    def identity(self) -> bool:
        """Whether the value is already in the suffix's unit (nothing to convert)."""
        return self.scale == 1.0 and self.offset == 0.0


_BTU_H_KW = 0.00029307107
_KBTU_KWH = 0.29307107

#: (BACnet unit name as bacpypes3 prints it, hyphenated; its EngineeringUnits number; conversion).
#: None: a unit that is no unit to the schema (``power_factor`` has no suffix).
_TABLE: tuple[tuple[str, int, Conversion | None], ...] = (
    # temperature
    ("degrees-celsius", 62, Conversion("c")),
    ("degrees-fahrenheit", 64, Conversion("c", 5 / 9, -160 / 9)),
    ("degrees-kelvin", 63, Conversion("c", 1.0, -273.15)),
    ("delta-degrees-kelvin", 121, Conversion("k")),
    ("delta-degrees-fahrenheit", 120, Conversion("k", 5 / 9)),
    # humidity, positions, shares
    ("percent-relative-humidity", 29, Conversion("pct")),
    ("percent", 98, Conversion("pct")),
    # air quality
    ("parts-per-million", 96, Conversion("ppm")),
    ("parts-per-billion", 97, Conversion("ppb")),
    ("micrograms-per-cubic-meter", 219, Conversion("ugm3")),
    ("milligrams-per-cubic-meter", 218, Conversion("mgm3")),
    # power and energy: to kW and kWh, so one query reads every unit of a campus
    ("watts", 47, Conversion("w")),
    ("kilowatts", 48, Conversion("kw")),
    ("megawatts", 49, Conversion("kw", 1000.0)),
    ("btus-per-hour", 50, Conversion("kw", _BTU_H_KW)),
    ("kilo-btus-per-hour", 157, Conversion("kw", _BTU_H_KW * 1000)),
    ("tons-refrigeration", 52, Conversion("kw", 3.5168525)),
    ("horsepower", 51, Conversion("kw", 0.7456999)),
    ("kilowatt-hours", 19, Conversion("kwh")),
    ("watt-hours", 18, Conversion("kwh", 0.001)),
    ("megawatt-hours", 146, Conversion("kwh", 1000.0)),
    ("kilo-btus", 147, Conversion("kwh", _KBTU_KWH)),
    ("btus", 20, Conversion("kwh", _KBTU_KWH / 1000)),
    ("kilojoules", 17, Conversion("kwh", 1 / 3600)),
    ("megajoules", 126, Conversion("kwh", 1 / 3.6)),
    ("ton-hours", 22, Conversion("kwh", 3.5168525)),
    ("volt-amperes", 8, Conversion("va")),
    ("kilovolt-amperes", 9, Conversion("kva")),
    ("volt-amperes-reactive", 11, Conversion("var")),
    ("kilovolt-amperes-reactive", 12, Conversion("kvar")),
    ("kilovolt-ampere-hours", 240, Conversion("kvah")),
    ("kilovolt-ampere-hours-reactive", 243, Conversion("kvarh")),
    # electricity: to V and A, as the meters' profiles write them
    ("volts", 5, Conversion("v")),
    ("kilovolts", 6, Conversion("v", 1000.0)),
    ("millivolts", 124, Conversion("v", 0.001)),
    ("amperes", 3, Conversion("a")),
    ("milliamperes", 2, Conversion("a", 0.001)),
    ("hertz", 27, Conversion("hz")),
    ("degrees-angular", 90, Conversion("deg")),
    ("power-factor", 15, None),
    # pressure: ducts in Pa, water in kPa, as the trade writes them
    ("pascals", 53, Conversion("pa")),
    ("hectopascals", 133, Conversion("pa", 100.0)),
    ("millibars", 134, Conversion("pa", 100.0)),
    ("inches-of-water", 58, Conversion("pa", 249.08891)),
    ("kilopascals", 54, Conversion("kpa")),
    ("bars", 55, Conversion("kpa", 100.0)),
    ("pounds-force-per-square-inch", 56, Conversion("kpa", 6.8947573)),
    # air and water flow
    ("cubic-meters-per-hour", 135, Conversion("m3h")),
    ("cubic-meters-per-second", 85, Conversion("m3h", 3600.0)),
    ("cubic-meters-per-minute", 165, Conversion("m3h", 60.0)),
    ("liters-per-second", 87, Conversion("m3h", 3.6)),
    ("liters-per-minute", 88, Conversion("m3h", 0.06)),
    ("liters-per-hour", 136, Conversion("m3h", 0.001)),
    ("cubic-feet-per-minute", 84, Conversion("m3h", 1.6990108)),
    ("us-gallons-per-minute", 89, Conversion("m3h", 0.22712471)),
    # light, speed, time, volume, mass, sound
    ("luxes", 37, Conversion("lux")),
    ("foot-candles", 38, Conversion("lux", 10.76391)),
    ("revolutions-per-minute", 104, Conversion("rpm")),
    ("meters-per-second", 74, Conversion("mps")),
    ("feet-per-minute", 77, Conversion("mps", 0.00508)),
    ("seconds", 73, Conversion("s")),
    ("minutes", 72, Conversion("s", 60.0)),
    ("hours", 71, Conversion("h")),
    ("cubic-meters", 80, Conversion("m3")),
    ("liters", 82, Conversion("m3", 0.001)),
    ("us-gallons", 83, Conversion("m3", 0.0037854118)),
    ("cubic-feet", 79, Conversion("m3", 0.028316847)),
    ("kilograms", 39, Conversion("kg")),
    ("decibels-a", 232, Conversion("db")),
    ("decibels", 199, Conversion("db")),
    # no unit at all
    ("no-units", 95, None),
)

#: BACnet unit name -> the conversion into its field suffix's unit.
UNITS: dict[str, Conversion] = {name: c for name, _, c in _TABLE if c is not None}
#: Units that are no unit to the schema: the value is written as it is, under a name without suffix.
UNITLESS: frozenset[str] = frozenset(name for name, _, c in _TABLE if c is None)
#: EngineeringUnits number (an EDE file's unit-code) -> the unit's name.
NUMBERS: dict[int, str] = {number: name for name, number, _ in _TABLE}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise(name: str) -> str:
    """``degreesFahrenheit`` or ``degrees_fahrenheit`` -> ``degrees-fahrenheit``."""
    return _CAMEL.sub("-", name.strip()).replace("_", "-").lower()


def conversion(units: str | None) -> Conversion | None:
    """The conversion for a BACnet unit name; None when the unit has no suffix or is unknown."""
    if not units:
        return None
    return UNITS.get(normalise(units))


def name_of(number: int) -> str | None:
    """The name of an EngineeringUnits number the agent knows (``62`` -> ``degrees-celsius``)."""
    return NUMBERS.get(number)


def suffix_of_units(units: str) -> str | None:
    """The field suffix a value in ``units`` is written with; ``""`` for no unit; None if unknown."""
    name = normalise(units)
    if name in UNITLESS:
        return ""
    found = UNITS.get(name)
    return None if found is None else found.suffix
