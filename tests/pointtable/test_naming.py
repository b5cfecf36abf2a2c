"""Field names from point names: the glossary, CamelCase, and the unit's suffix."""

from __future__ import annotations

import pytest

from campus_core.names import is_snake_case
from campus_core.suffixes import UNITS, field_suffix, known_suffixes, suffix_for_unit, unit_for_suffix
from edge_agent.pointtable.naming import NamingError, glossary, name_point, snake_case, with_unit


@pytest.mark.parametrize(
    ("unit", "suffix"),
    [
        ("℃", "c"),
        ("°C", "c"),
        ("%RH", "pct"),
        ("％RH", "pct"),
        ("%", "pct"),
        ("ppm", "ppm"),
        ("μg/m³", "ugm3"),
        ("µg/m3", "ugm3"),  # the micro sign, not the Greek letter
        ("ug/m3", "ugm3"),
        ("kWh", "kwh"),
        ("KWH", "kwh"),
        ("kW·h", "kwh"),
        ("千瓦时", "kwh"),
        ("kW", "kw"),
        ("V", "v"),
        ("A", "a"),
        ("Hz", "hz"),
        ("Pa", "pa"),
        ("dB(A)", "db"),
        ("Lux", "lux"),
        ("VAr", "var"),
        ("degreesCelsius", "c"),  # BACnet's EngineeringUnits names
        ("partsPerMillion", "ppm"),
        ("", ""),
        ("1", ""),
        ("noUnits", ""),
    ],
)
def test_units_become_the_schema_suffix(unit: str, suffix: str) -> None:
    assert suffix_for_unit(unit) == suffix


def test_a_unit_the_table_does_not_know_has_no_suffix() -> None:
    assert suffix_for_unit("furlongs/fortnight") is None


def test_case_tells_millivolts_from_megawatt_hours_only_where_it_must() -> None:
    assert suffix_for_unit("mV") == "mv"
    assert suffix_for_unit("MWh") == "mwh"
    assert suffix_for_unit("mwh") == "mwh"  # nothing else folds to it


def test_every_suffix_is_snake_case_and_reads_back_as_a_unit() -> None:
    for suffix in known_suffixes():
        assert is_snake_case(suffix), suffix
        unit = unit_for_suffix(suffix)
        assert unit is not None and suffix_for_unit(unit) == suffix, suffix
    assert set(UNITS.values()) == known_suffixes()


@pytest.mark.parametrize(
    ("field", "suffix"),
    [("voltage_l1_v", "v"), ("pm25_ugm3", "ugm3"), ("power_factor", None), ("running", None), ("co2", None)],
)
def test_the_suffix_a_field_ends_with(field: str, suffix: str | None) -> None:
    assert field_suffix(field) == suffix


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("温度", "temperature"),
        ("湿度", "humidity"),
        ("二氧化碳", "co2"),
        ("PM2.5", "pm25"),
        ("ＰＭ２．５", "pm25"),  # full-width, as Chinese input methods type it
        ("电压", "voltage"),
        ("电流", "current"),
        ("有功功率", "active_power"),
        ("电能", "energy"),
        ("电量", "energy"),
        ("频率", "frequency"),
        ("功率因数", "power_factor"),
        ("运行状态", "running"),
        ("故障", "fault"),
        ("Relative Humidity", "humidity"),
        ("Power Factor", "power_factor"),
        ("A相电压", "voltage_l1"),
        ("C相电流", "current_l3"),
        ("总有功功率", "active_power_total"),
        ("正向有功电能", "energy_import"),
        ("Phase 2 Voltage", "voltage_l2"),
        ("VoltageL1L2", "voltage_l1_l2"),
    ],
)
def test_the_glossary_names_common_points(name: str, stem: str) -> None:
    assert glossary().stem(name) == stem


@pytest.mark.parametrize("name", ["", "设备地址", "Spare", "总"])
def test_the_glossary_does_not_guess(name: str) -> None:
    assert glossary().stem(name) is None


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("VoltageL1", "voltage_l1"),
        ("CO2Level", "co2_level"),
        ("HTTPServer", "http_server"),
        ("Phase1Voltage", "phase1_voltage"),
        ("Group1.Supply Temp", "group1_supply_temp"),
        ("already_snake", "already_snake"),
    ],
)
def test_camel_case_tag_names_become_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_the_unit_adds_its_suffix_unless_the_name_has_it() -> None:
    assert with_unit("voltage", "V", named_by_table=False) == "voltage_v"
    assert with_unit("voltage_v", "V", named_by_table=True) == "voltage_v"
    assert with_unit("power_factor", "", named_by_table=False) == "power_factor"


def test_a_unit_contradicting_the_field_s_suffix_is_an_error_on_the_unit() -> None:
    with pytest.raises(
        NamingError, match=r"field 'temperature_c' ends in _c \(°C\) but the unit column says '%RH'"
    ) as e:
        with_unit("temperature_c", "%RH", named_by_table=True)
    assert e.value.column == "unit"


def test_an_unknown_unit_is_trusted_only_with_a_field_the_table_names() -> None:
    assert with_unit("torque_nm", "N·m", named_by_table=True) == "torque_nm"
    with pytest.raises(NamingError, match=r"unit 'N·m' is not one the agent knows") as e:
        with_unit("torque", "N·m", named_by_table=False)
    assert e.value.column == "unit"


def test_a_point_is_named_by_its_field_column_then_the_glossary_then_its_camel_case_name() -> None:
    assert name_point("温度", "room_temperature", "℃") == "room_temperature_c"
    assert name_point("温度", "", "℃") == "temperature_c"
    assert name_point("SupplyTemp", "", "°C", camel=True) == "supply_temp_c"
    with pytest.raises(
        NamingError, match=r"the name 'SupplyTemp' is not in the glossary: write the field name"
    ):
        name_point("SupplyTemp", "", "°C")


def test_a_quantity_in_the_wrong_unit_is_an_error() -> None:
    with pytest.raises(NamingError, match=r"voltage is given in V, kV, mV, not in 'A'"):
        name_point("A相电压", "", "A")


def test_a_field_column_that_is_not_snake_case_is_an_error_on_the_field() -> None:
    with pytest.raises(NamingError, match="must be snake_case") as e:
        name_point("温度", "Temperature", "℃")
    assert e.value.column == "field"


def test_a_unit_word_that_depends_on_the_quantity() -> None:
    assert name_point("电量", "", "度") == "energy_kwh"
    assert name_point("温度", "", "度") == "temperature_c"
    with pytest.raises(NamingError, match="unit '度' is not one the agent knows"):
        name_point("频率", "", "度")
