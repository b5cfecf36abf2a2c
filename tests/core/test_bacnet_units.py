"""One table of BACnet units: the driver converts with it, the point tables name fields with it."""

from __future__ import annotations

import pytest
from bacpypes3.basetypes import EngineeringUnits

from campus_core import bacnet_units
from campus_core.suffixes import suffix_for_unit, unit_for_suffix
from drivers.bacnet import units as driver_units

NAMES = sorted(bacnet_units.NUMBERS.values())


def camel(name: str) -> str:
    first, *rest = name.split("-")
    return first + "".join(word.title() for word in rest)


@pytest.mark.parametrize("number", sorted(bacnet_units.NUMBERS))
def test_each_number_is_bacpypes3_s_enumeration(number: int) -> None:
    # EDE files give units by number: a wrong one would name a field in another unit.
    assert bacnet_units.normalise(str(EngineeringUnits(number))) == bacnet_units.NUMBERS[number]


def test_the_driver_uses_the_table_of_campus_core() -> None:
    assert driver_units.UNITS is bacnet_units.UNITS
    assert driver_units.conversion is bacnet_units.conversion


@pytest.mark.parametrize("name", NAMES)
def test_a_unit_s_name_gets_the_suffix_the_driver_writes_or_none(name: str) -> None:
    converted = bacnet_units.conversion(name)
    if converted is None:  # no unit: no suffix, and the driver checks nothing
        assert name in bacnet_units.UNITLESS
        assert suffix_for_unit(name) == suffix_for_unit(camel(name)) == ""
        assert driver_units.check_field("power_factor", name) is None
        return
    # Every suffix the driver writes is one the schema's table knows, shown back as a unit.
    assert unit_for_suffix(converted.suffix) is not None
    assert suffix_for_unit(unit_for_suffix(converted.suffix) or "") == converted.suffix
    # A unit text never gets another suffix than the driver's: the one it writes when it
    # leaves the value as it is, none when it converts (a Modbus register in kV is not converted).
    expected = converted.suffix if converted.identity else None
    assert suffix_for_unit(name) == suffix_for_unit(camel(name)) == expected
    # What the importer names from the number, the driver accepts.
    assert bacnet_units.suffix_of_units(name) == converted.suffix
    assert driver_units.check_field(f"supply_{converted.suffix}", name) is None


def test_kilovolts_are_volts_to_the_driver_and_to_the_importer() -> None:
    assert bacnet_units.suffix_of_units(bacnet_units.NUMBERS[6]) == "v"
    assert bacnet_units.conversion("kilovolts").apply(10.5) == pytest.approx(10500.0)  # type: ignore[union-attr]
    assert suffix_for_unit("kilovolts") is None and suffix_for_unit("kV") == "kv"
    assert driver_units.check_field("feeder_voltage_v", "kilovolts") is None
    assert "name it feeder_voltage_v" in (driver_units.check_field("feeder_voltage_kv", "kilovolts") or "")
