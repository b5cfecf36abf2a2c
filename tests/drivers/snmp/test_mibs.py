"""The shipped MIB tables: names resolve to the RFCs' OIDs, without net-snmp or MIB files."""

from __future__ import annotations

import pytest
from pysnmp.smi import builder  # type: ignore[import-untyped]

from drivers.snmp.mibs import MibError, mibs, parse_oid


def test_names_resolve_by_module_by_name_and_with_an_instance() -> None:
    registry = mibs()
    assert registry.resolve("IF-MIB::ifHCInOctets").oid == (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)
    assert registry.resolve("ifHCInOctets").oid == (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)
    uptime = registry.resolve("SNMPv2-MIB::sysUpTime.0")
    assert uptime.oid == (1, 3, 6, 1, 2, 1, 1, 3, 0)
    assert uptime.instance == (0,) and uptime.obj is not None and uptime.obj.syntax == "TimeTicks"
    assert registry.resolve("UPS-MIB::upsInputVoltage.1").oid == (1, 3, 6, 1, 2, 1, 33, 1, 3, 3, 1, 3, 1)


def test_a_numeric_oid_finds_the_object_it_belongs_to() -> None:
    resolved = mibs().resolve(".1.3.6.1.2.1.2.2.1.10.7")
    assert resolved.obj is not None and resolved.obj.qualified == "IF-MIB::ifInOctets"
    assert resolved.instance == (7,)
    assert resolved.text == "IF-MIB::ifInOctets.7"
    unknown = mibs().resolve("1.3.6.1.4.1.9.9.13.1.3.1.3")
    assert unknown.obj is not None and unknown.obj.name == "enterprises"  # only the branch is known
    assert mibs().resolve("1.0.8802.1").obj is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("IF-MIB::ifHCInOctects", "did you mean 'ifHCInOctets'"),
        ("IF-MIBS::ifHCInOctets", "did you mean 'IF-MIB'"),
        ("CISCO-PROCESS-MIB::cpmCPUTotal5sec", "is not shipped with the agent"),
        ("SNMPv2-MIB::ifDescr", "ifDescr is defined in IF-MIB, not SNMPv2-MIB"),
        ("ifSpeeed", "did you mean 'ifSpeed'"),
        ("1.3.x.1", "not a numeric OID"),
        ("", "an OID is required"),
    ],
)
def test_a_wrong_name_says_what_would_work(text: str, says: str) -> None:
    with pytest.raises(MibError, match=says.replace("(", r"\(")):
        mibs().resolve(text)


def test_scalars_columns_and_branches_are_told_apart() -> None:
    registry = mibs()
    kinds = {
        name: registry.resolve(name).obj.kind  # type: ignore[union-attr]
        for name in (
            "sysName",
            "ifDescr",
            "ifTable",
            "ifEntry",
            "hrStorageUsed",
            "upsBatteryStatus",
            "hrStorageRam",
            "entPhySensorValue",
            "entPhysicalName",
        )
    }
    assert kinds == {
        "sysName": "scalar",
        "ifDescr": "column",
        "ifTable": "node",
        "ifEntry": "node",
        "hrStorageUsed": "column",
        "upsBatteryStatus": "scalar",
        "hrStorageRam": "node",
        "entPhySensorValue": "column",
        "entPhysicalName": "column",
    }


def test_enums_name_their_values() -> None:
    registry = mibs()
    oper = registry.resolve("ifOperStatus").obj
    assert oper is not None and oper.enum is not None
    assert oper.enum[1] == "up" and oper.enum[7] == "lowerLayerDown"
    battery = registry.resolve("upsBatteryStatus").obj
    assert battery is not None and battery.enum == {
        1: "unknown",
        2: "batteryNormal",
        3: "batteryLow",
        4: "batteryDepleted",
    }
    assert registry.name_of((1, 3, 6, 1, 2, 1, 25, 2, 1, 4)) == "HOST-RESOURCES-MIB::hrStorageFixedDisk"


def test_every_shipped_module_the_issue_names_is_there_and_oids_are_unique() -> None:
    registry = mibs()
    issue = {"SNMPv2-MIB", "IF-MIB", "HOST-RESOURCES-MIB", "UPS-MIB", "ENTITY-SENSOR-MIB"}
    assert issue <= set(registry.modules)
    oids = [obj.oid for objects in registry.by_name.values() for obj in objects]
    assert len(oids) == len(set(oids))
    assert all(len(objects) == 1 for objects in registry.by_name.values())  # every bare name is unambiguous


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (
            "SNMPv2-MIB",
            [
                "sysDescr",
                "sysObjectID",
                "sysUpTime",
                "sysContact",
                "sysName",
                "sysLocation",
                "sysServices",
                "sysORLastChange",
                "snmpInPkts",
                "snmpInBadCommunityNames",
            ],
        ),
    ],
)
def test_oids_agree_with_the_mibs_pysnmp_compiles_itself(module: str, names: list[str]) -> None:
    """An independent source: pysnmp's own compiled SNMPv2-MIB (IF-MIB is checked against snmpd)."""
    reference = builder.MibBuilder()
    reference.load_modules(module)
    for name in names:
        (symbol,) = reference.import_symbols(module, name)
        assert mibs().resolve(name).oid == tuple(symbol.name), name


def test_parse_oid_refuses_what_is_not_an_oid() -> None:
    assert parse_oid(".1.3.6") == (1, 3, 6)
    with pytest.raises(MibError):
        parse_oid("1")
    with pytest.raises(MibError):
        parse_oid("1.3.-6")
