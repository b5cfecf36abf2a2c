"""Line protocol: escaping of names and values, and values that cannot be sent."""

import math

from campus_core.readings import Reading
from edge_agent.lineprotocol import escape_key, escape_measurement, format_value, series_prefix
from edge_agent.normalise import PointEncoder, identity_tags


def test_special_characters_are_escaped() -> None:
    assert escape_measurement("power meter,a") == "power\\ meter\\,a"
    assert escape_key("room=1 a,b") == "room\\=1\\ a\\,b"
    assert escape_key("a\\b") == "a\\\\b"
    assert escape_key("two\nlines") == "two\\nlines"


def test_tags_are_sorted_and_empty_ones_left_out() -> None:
    assert series_prefix("m", {"room": "301", "building": "A", "asset_id": ""}) == "m,building=A,room=301"


def test_numbers_are_floats_and_booleans_stay_booleans() -> None:
    assert format_value(3) == "3.0"
    assert format_value(229.7) == "229.7"
    assert format_value(True) == "true"
    assert format_value(False) == "false"
    assert format_value(math.nan) is None
    assert format_value(math.inf) is None


def test_a_reading_becomes_one_line_with_identity_tags() -> None:
    tags = identity_tags("sh-031", "main", "lab-meter", {"building": "B", "school": "spoofed"})
    encoder = PointEncoder("power_meter", tags)
    line = encoder.encode(Reading.of("lab-meter", 1700000000123, (("voltage_v", 230.5), ("running", True))))
    assert line == (
        "power_meter,building=B,campus=main,device=lab-meter,school=sh-031 "
        "voltage_v=230.5,running=true 1700000000123"
    )


def test_values_line_protocol_cannot_carry_are_skipped_and_counted() -> None:
    encoder = PointEncoder("m", {"device": "d"})
    assert encoder.encode(Reading.of("d", 1, (("a", math.nan),))) is None
    assert encoder.encode(Reading.of("d", 1, (("a", math.inf), ("b", 1.0)))) == "m,device=d b=1.0 1"
    assert encoder.skipped_values == 2


def test_reading_tags_add_to_the_device_tags() -> None:
    encoder = PointEncoder("ifaces", {"device": "sw"})
    line = encoder.encode(Reading.of("sw", 5, (("in_bps", 1.0),), (("ifindex", "3"),)))
    assert line == "ifaces,device=sw,ifindex=3 in_bps=1.0 5"
    other = encoder.encode(Reading.of("sw", 6, (("up", True),), (("device", "spoof"),), "ifstatus"))
    assert other == "ifstatus,device=sw up=true 6"
