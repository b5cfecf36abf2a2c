"""Units and the schema's field suffixes: ``V`` is ``_v``, ``°C`` is ``_c``, ``μg/m³`` is ``_ugm3``.

Field names end with their unit (docs/schema.md): ``voltage_l1_v``, ``co2_ppm``. Point tables
give the unit as integrators write it (``℃``, ``%RH``, ``KWH``, ``ug/m3``, ``千瓦时``); they come
here to find the suffix, and a field's suffix goes back to the unit shown to a person.

A unit written as BACnet names it (``degreesCelsius``, ``kilovolts``) is answered from the one
BACnet table, :mod:`campus_core.bacnet_units`, never from a table of its own: where the
BACnet driver converts that unit (kilovolts to volts) the text alone cannot say which suffix
is meant (a Modbus register in kV is not converted), so such a name has no suffix here; where
the driver writes the unit as it is (``degreesCelsius``, ``partsPerMillion``) it has that one.
"""

from __future__ import annotations

import unicodedata

from campus_core import bacnet_units

#: The unit each suffix stands for, as a person writes it: the first spelling of each suffix in
#: :data:`UNITS` is the one shown back.
UNITS: dict[str, str] = {
    # temperature, humidity, air quality
    "°C": "c",
    "degC": "c",
    "摄氏度": "c",
    "%": "pct",
    "%RH": "pct",
    "RH%": "pct",
    "RH": "pct",
    "ppm": "ppm",
    "ppb": "ppb",
    "μg/m³": "ugm3",
    "ug/m3": "ugm3",
    "mg/m³": "mgm3",
    "mg/m3": "mgm3",
    "dB": "db",
    "dB(A)": "db",
    "dBA": "db",
    "分贝": "db",
    "lx": "lux",
    "lux": "lux",
    "勒克斯": "lux",
    # electricity
    "V": "v",
    "伏": "v",
    "伏特": "v",
    "kV": "kv",
    "mV": "mv",
    "A": "a",
    "安": "a",
    "安培": "a",
    "mA": "ma",
    "W": "w",
    "瓦": "w",
    "kW": "kw",
    "千瓦": "kw",
    "VA": "va",
    "kVA": "kva",
    "var": "var",
    "kvar": "kvar",
    "kWh": "kwh",
    "千瓦时": "kwh",
    "Wh": "wh",
    "MWh": "mwh",
    "kvarh": "kvarh",
    "kVAh": "kvah",
    "Ah": "ah",
    "Hz": "hz",
    "赫兹": "hz",
    "°": "deg",
    "deg": "deg",
    "degrees": "deg",
    # pressure, flow, motion, time
    "Pa": "pa",
    "帕": "pa",
    "kPa": "kpa",
    "千帕": "kpa",
    "hPa": "hpa",
    "MPa": "mpa",
    "bar": "bar",
    "m³/h": "m3h",
    "m³": "m3",
    "m/s": "mps",
    "rpm": "rpm",
    "r/min": "rpm",
    "转/分": "rpm",
    "h": "h",
    "小时": "h",
    "min": "min",
    "分钟": "min",
    "s": "s",
    "秒": "s",
    # what BACnet devices' values are converted into besides the above (campus_core.bacnet_units)
    "K": "k",
    "kg": "kg",
    "千克": "kg",
}

#: Units that say "no unit": the field then has no suffix (``power_factor``, ``running``).
NO_UNIT = frozenset({"", "1", "-", "--", "/", "无", "none", "noUnits", "n/a"})

_DISPLAY: dict[str, str] = {}
for _unit, _suffix in UNITS.items():
    _DISPLAY.setdefault(_suffix, _unit)


def _normal(unit: str) -> str:
    """One spelling for the many a spreadsheet holds: ``℃`` and ``°C``, ``μ`` and ``u``, ``kW·h``."""
    text = unicodedata.normalize("NFKC", unit).strip()
    for dot in ("·", "•", "⋅", "*"):
        text = text.replace(dot, "")
    return text.replace("μ", "u").replace("µ", "u").replace(" ", "")


_EXACT = {_normal(unit): suffix for unit, suffix in UNITS.items()}
# Case-blind matches (KWH, Kwh, HZ) only where case tells no two suffixes apart: mV is not MV.
_by_fold: dict[str, set[str]] = {}
for _unit, _suffix in _EXACT.items():
    _by_fold.setdefault(_unit.casefold(), set()).add(_suffix)
_FOLDED = {unit: next(iter(suffixes)) for unit, suffixes in _by_fold.items() if len(suffixes) == 1}
_NO_UNIT = {_normal(unit).casefold() for unit in NO_UNIT}


def suffix_for_unit(unit: str) -> str | None:
    """The field suffix of ``unit`` (``"kWh"`` -> ``"kwh"``); ``""`` for no unit; None if unknown."""
    text = _normal(unit)
    if text.casefold() in _NO_UNIT:
        return ""
    if text in _EXACT:
        return _EXACT[text]
    if bacnet_units.normalise(text) in bacnet_units.UNITLESS:
        return ""
    converted = bacnet_units.conversion(text)
    if converted is not None:
        return converted.suffix if converted.identity else None
    return _FOLDED.get(text.casefold())


def converted_by_bacnet(unit: str) -> bacnet_units.Conversion | None:
    """The conversion of a unit written as BACnet names it, when the BACnet driver converts it."""
    converted = bacnet_units.conversion(_normal(unit))
    return None if converted is None or converted.identity else converted


def unit_for_suffix(suffix: str) -> str | None:
    """The unit a person reads for a field suffix (``"ugm3"`` -> ``"ug/m3"``); None if none."""
    return _DISPLAY.get(suffix)


def field_suffix(field: str) -> str | None:
    """The unit suffix a field name ends with (``"voltage_l1_v"`` -> ``"v"``), if it has one."""
    stem, _, last = field.rpartition("_")
    return last if stem and last in _DISPLAY else None


def known_suffixes() -> frozenset[str]:
    """Every suffix this table knows."""
    return frozenset(_DISPLAY)
