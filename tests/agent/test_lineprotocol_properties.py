"""Property tests: whatever text a device or a technician brings, the line parses back.

Tag values and names come from configs and devices (SNMP ifAlias, MQTT topics): spaces,
commas, equals signs, quotes, backslashes, newlines and any Unicode. Encoded lines are read
back with an independent parser written from the spec.
"""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from campus_core.readings import Reading
from edge_agent.normalise import PointEncoder
from tests.support.lineparser import parse

NASTY = st.sampled_from([" ", ",", "=", '"', "'", "\\", "\n", "\r", "\t", "ü", "漢", "\\n", "a"])
TEXT = st.lists(st.one_of(NASTY, st.characters(codec="utf-8")), min_size=1, max_size=12).map("".join)
NAME = TEXT.filter(lambda s: s.strip() != "" and "\n" not in s and "\r" not in s)
VALUES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
)


def stored(text: str) -> str:
    """What a store keeps of ``text``: line protocol cannot carry newlines; they travel as \\n."""
    return text.replace("\n", "\\n").replace("\r", "\\r")


@given(
    measurement=NAME,
    tags=st.dictionaries(NAME, TEXT, max_size=4),
    fields=st.dictionaries(NAME, VALUES, min_size=1, max_size=5),
    ts=st.integers(min_value=0, max_value=2**53),
)
def test_encoded_points_parse_back(
    measurement: str, tags: dict[str, str], fields: dict[str, float | bool | int], ts: int
) -> None:
    encoder = PointEncoder(measurement, tags)
    line = encoder.encode(Reading.of("d", ts, tuple(fields.items())))
    assert line is not None
    point = parse(line)
    assert point.measurement == stored(measurement)
    assert point.tags == {stored(k): stored(v) for k, v in tags.items() if v != ""}
    assert point.timestamp == ts
    expected = {stored(k): (v if isinstance(v, bool) else float(v)) for k, v in fields.items()}
    assert point.fields.keys() == expected.keys()
    for key, value in expected.items():
        got = point.fields[key]
        assert got == value and type(got) is type(value)


@given(fields=st.lists(st.tuples(NAME, st.sampled_from([math.nan, math.inf, -math.inf])), min_size=1))
def test_values_a_line_cannot_carry_never_make_a_broken_line(fields: list[tuple[str, float]]) -> None:
    encoder = PointEncoder("m", {"device": "d"})
    assert encoder.encode(Reading.of("d", 1, tuple(fields))) is None


ANY_VALUE = st.one_of(
    st.floats(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, -(2**53), 0, -0.0, 1e16, 1e-300]),
)


@given(fields=st.lists(st.tuples(NAME, ANY_VALUE), min_size=1, max_size=8), polls=st.integers(1, 3))
def test_the_field_template_writes_what_the_field_by_field_path_writes(
    fields: list[tuple[str, float | bool | int]], polls: int
) -> None:
    encoder = PointEncoder("m", {"device": "d"})
    reading = Reading.of("d", 1, tuple(fields))
    for _ in range(polls):  # the first poll builds the template, the next ones use it
        assert encoder.encode(reading) == encoder._encode_each(reading)


@given(
    kind=st.sampled_from([st.integers(min_value=-(2**64), max_value=2**64), st.floats()]),
    data=st.data(),
    polls=st.integers(1, 3),
)
def test_a_field_set_of_one_type_writes_what_the_field_by_field_path_writes(
    kind: st.SearchStrategy[float | int], data: st.DataObject, polls: int
) -> None:
    # A field set of only ints or only floats is tested by its own check (the range, or
    # finiteness) rather than both; out-of-range ints and NaNs must still leave the template.
    values = data.draw(st.lists(kind, min_size=2, max_size=8))
    encoder = PointEncoder("m", {"device": "d"})
    reading = Reading.of("d", 1, tuple((f"f{i}", v) for i, v in enumerate(values)))
    for _ in range(polls):
        assert encoder.encode(reading) == encoder._encode_each(reading)
