"""SNMP values into the schema: seconds, text, MAC addresses, enum names, numbers."""

from __future__ import annotations

from drivers.snmp.convert import Raw, choose, decimals, field_converter, index_text, tag_converter
from drivers.snmp.mibs import mibs


def conversion_of(name: str) -> str:
    return choose(mibs().resolve(name).obj, "auto")


def test_timeticks_become_seconds() -> None:
    assert conversion_of("sysUpTime") == "seconds"
    assert field_converter("seconds")(Raw("timeticks", 123456)) == 1234.56
    # A TimeTicks value read by number (an OID unknown to the MIBs) is seconds too.
    assert field_converter("auto")(Raw("timeticks", 250)) == 2.5
    assert tag_converter("seconds")(Raw("timeticks", 250)) == "2.5"


def test_display_strings_become_one_line_of_text() -> None:
    assert conversion_of("sysDescr") == "text"
    text = tag_converter("text")
    assert text(Raw("octets", b"Cisco IOS Software,\r\n C2960 \x00")) == "Cisco IOS Software, C2960"
    assert text(Raw("octets", "教学楼 A-301".encode())) == "教学楼 A-301"
    assert text(Raw("octets", b"\xff\xfebad")) == "\ufffd\ufffdbad"


def test_phys_address_becomes_colon_hex() -> None:
    assert conversion_of("ifPhysAddress") == "mac"
    mac = tag_converter("mac")
    assert mac(Raw("octets", bytes.fromhex("02fc00000001"))) == "02:fc:00:00:00:01"
    assert mac(Raw("octets", b"")) == ""  # a loopback has none: the tag is left out


def test_enums_become_names_as_tags_and_stay_numbers_as_fields() -> None:
    oper = mibs().resolve("ifOperStatus").obj
    assert oper is not None and conversion_of("ifOperStatus") == "name"
    name = tag_converter("name", oper.enum)
    assert name(Raw("integer", 1)) == "up"
    assert name(Raw("integer", 7)) == "lowerLayerDown"
    assert name(Raw("integer", 42)) == "42"  # a value the MIB does not name keeps its number
    assert field_converter("number")(Raw("integer", 2)) == 2.0


def test_object_identifiers_become_mib_names() -> None:
    assert conversion_of("hrStorageType") == "name"
    name = tag_converter("name")
    assert name(Raw("oid", (1, 3, 6, 1, 2, 1, 25, 2, 1, 2))) == "hrStorageRam"
    assert name(Raw("oid", (1, 3, 6, 1, 4, 1, 9, 1, 1208))) == "enterprises.9.1.1208"
    assert tag_converter("auto")(Raw("oid", (1, 3, 6, 1, 2, 1, 2, 2, 1, 10))) == "IF-MIB::ifInOctets"


def test_numbers_are_floats_scaled_and_rounded_to_the_scale() -> None:
    tenth = field_converter("auto", 0.1)
    assert tenth(Raw("integer", 538)) == 53.8
    assert tenth(Raw("gauge", 2301)) == 230.1
    assert field_converter("auto", 1024.0)(Raw("integer", 4)) == 4096.0
    big = field_converter("auto")(Raw("counter64", 2**63 + 5))
    assert isinstance(big, float) and big == float(2**63 + 5)
    assert [decimals(s) for s in (1.0, 0.1, 0.01, 8.0, 1e6, 2.5)] == [0, 1, 2, 0, 0, 1]


def test_what_is_not_a_number_gives_no_field() -> None:
    number = field_converter("auto")
    assert number(Raw("nosuchinstance")) is None
    assert number(Raw("oid", (1, 3))) is None
    assert number(Raw("octets", b"n/a")) is None
    assert number(Raw("octets", b" 0.42 ")) == 0.42  # UCD laLoad sends numbers as strings


def test_other_octets_are_text_when_printable_and_hex_when_not() -> None:
    plain = tag_converter("auto")
    assert plain(Raw("octets", b"rack 3")) == "rack 3"
    assert plain(Raw("octets", b"\x00\x1b\x54")) == "00:1b:54"
    assert plain(Raw("ipaddress", bytes([10, 31, 0, 2]))) == "10.31.0.2"
    assert plain(Raw("integer", 7)) == "7"
    assert plain(Raw("nosuchobject")) is None


def test_date_and_time_becomes_epoch_seconds_or_iso_text() -> None:
    # 2026-09-08 09:40:00.0 +08:00, as DateAndTime's 11 octets
    raw = Raw("octets", bytes([0x07, 0xEA, 9, 8, 9, 40, 0, 0, ord("+"), 8, 0]))
    assert field_converter("date")(raw) == 1788831600.0
    assert tag_converter("date")(raw) == "2026-09-08T09:40:00+08:00"
    assert field_converter("date")(Raw("octets", b"junk")) is None


def test_row_indexes_are_dotted() -> None:
    assert index_text((3,)) == "3"
    assert index_text((1, 4, 10, 0, 0, 1)) == "1.4.10.0.0.1"
