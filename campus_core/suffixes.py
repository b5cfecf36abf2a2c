"""Units and the schema's field suffixes: ``V`` is ``_v``, ``°C`` is ``_c``, ``μg/m³`` is ``_ugm3``.

Field names end with their unit (docs/schema.md): ``voltage_l1_v``, ``co2_ppm``. Point tables
give the unit as integrators write it (``℃``, ``%RH``, ``KWH``, ``ug/m3``, ``千瓦时``) and BACnet
devices as an EngineeringUnits name (``degreesCelsius``); both come here to find the suffix,
and a field's suffix goes back to the unit shown to a person.
"""

from __future__ import annotations

import unicodedata

#: The unit each suffix stands for, as a person writes it: the first spelling of each suffix in
#: :data:`UNITS` is the one shown back.
UNITS: dict[str, str] = {
    # temperature, humidity, air quality
    "°C": "c",
    "degC": "c",
    "摄氏度": "c",
    "degreesCelsius": "c",
    "%": "pct",
    "%RH": "pct",
    "RH%": "pct",
    "RH": "pct",
    "percent": "pct",
    "percentRelativeHumidity": "pct",
    "ppm": "ppm",
    "partsPerMillion": "ppm",
    "ppb": "ppb",
    "partsPerBillion": "ppb",
    "μg/m³": "ugm3",
    "ug/m3": "ugm3",
    "microgramsPerCubicMeter": "ugm3",
    "mg/m³": "mgm3",
    "mg/m3": "mgm3",
    "milligramsPerCubicMeter": "mgm3",
    "dB": "db",
    "dB(A)": "db",
    "dBA": "db",
    "分贝": "db",
    "decibelsA": "db",
    "lx": "lux",
    "lux": "lux",
    "勒克斯": "lux",
    "luxes": "lux",
    # electricity
    "V": "v",
    "伏": "v",
    "伏特": "v",
    "volts": "v",
    "kV": "kv",
    "kilovolts": "kv",
    "mV": "mv",
    "millivolts": "mv",
    "A": "a",
    "安": "a",
    "安培": "a",
    "amperes": "a",
    "mA": "ma",
    "milliamperes": "ma",
    "W": "w",
    "瓦": "w",
    "watts": "w",
    "kW": "kw",
    "千瓦": "kw",
    "kilowatts": "kw",
    "VA": "va",
    "voltAmperes": "va",
    "kVA": "kva",
    "kilovoltAmperes": "kva",
    "var": "var",
    "voltAmperesReactive": "var",
    "kvar": "kvar",
    "kilovoltAmperesReactive": "kvar",
    "kWh": "kwh",
    "千瓦时": "kwh",
    "kilowattHours": "kwh",
    "Wh": "wh",
    "wattHours": "wh",
    "MWh": "mwh",
    "megawattHours": "mwh",
    "kvarh": "kvarh",
    "kVAh": "kvah",
    "Ah": "ah",
    "Hz": "hz",
    "赫兹": "hz",
    "hertz": "hz",
    "°": "deg",
    "deg": "deg",
    "degrees": "deg",
    "degreesAngular": "deg",
    # pressure, flow, motion, time
    "Pa": "pa",
    "帕": "pa",
    "pascals": "pa",
    "kPa": "kpa",
    "千帕": "kpa",
    "kilopascals": "kpa",
    "hPa": "hpa",
    "hectopascals": "hpa",
    "MPa": "mpa",
    "bar": "bar",
    "bars": "bar",
    "m³/h": "m3h",
    "cubicMetersPerHour": "m3h",
    "m³": "m3",
    "cubicMeters": "m3",
    "m/s": "mps",
    "metersPerSecond": "mps",
    "rpm": "rpm",
    "r/min": "rpm",
    "转/分": "rpm",
    "revolutionsPerMinute": "rpm",
    "h": "h",
    "小时": "h",
    "hours": "h",
    "min": "min",
    "分钟": "min",
    "minutes": "min",
    "s": "s",
    "秒": "s",
    "seconds": "s",
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
    return _FOLDED.get(text.casefold())


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
