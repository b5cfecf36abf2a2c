"""Payload mapping: dotted paths into JSON, types, scale, timestamps, and what is refused."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.mqtt.payload import (
    EARLIEST_MS,
    FieldRule,
    PayloadError,
    PayloadMapper,
    TimeRule,
    parse_path,
)

NOW_MS = 1_741_600_800_000  # 2025-03-10T10:00:00Z


def rule(field: str, path: str, **kwargs: Any) -> FieldRule:
    return FieldRule(field, parse_path(path), **kwargs)


def mapped(
    payload: object, *rules: FieldRule, timestamp: TimeRule | None = None
) -> tuple[int, dict[str, Any]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    time_ms, fields = PayloadMapper(rules, timestamp).map(body, NOW_MS)
    return time_ms, dict(fields)


def refused(payload: object, *rules: FieldRule, timestamp: TimeRule | None = None) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        mapped(payload, *rules, timestamp=timestamp)
    return caught.value


def test_dotted_paths_reach_into_objects_and_arrays() -> None:
    payload = {"co2": 612, "env": {"temp": 21.5}, "readings": [{"v": 1.0}, {"v": 7}]}
    _, fields = mapped(
        payload, rule("co2_ppm", "co2"), rule("temperature_c", "env.temp"), rule("second_v", "readings.1.v")
    )
    assert fields == {"co2_ppm": 612.0, "temperature_c": 21.5, "second_v": 7.0}


def test_a_top_level_array_is_indexed_too() -> None:
    _, fields = mapped([10, {"x": 2}], rule("a", "0"), rule("b", "1.x"))
    assert fields == {"a": 10.0, "b": 2.0}


def test_scale_and_offset_apply_to_numbers_and_every_number_is_a_float() -> None:
    _, fields = mapped(
        {"t": 215, "p": 3},
        rule("temperature_c", "t", scale=0.1),
        rule("pressure_kpa", "p", scale=100.0, offset=1.5),
    )
    assert fields["temperature_c"] == pytest.approx(21.5)
    assert fields["pressure_kpa"] == 301.5
    assert all(type(v) is float for v in fields.values())


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("ON", True),
        ("off", False),
        ("true", True),
        ("False", False),
    ],
)
def test_booleans_accept_the_usual_spellings(raw: object, value: bool) -> None:
    _, fields = mapped({"occ": raw}, rule("occupied", "occ", type="bool"))
    assert fields == {"occupied": value}


def test_int_insists_on_a_whole_number() -> None:
    _, fields = mapped({"n": 42.0}, rule("count", "n", type="int"))
    assert fields == {"count": 42.0}
    error = refused({"n": 4.5}, rule("count", "n", type="int"))
    assert error.kind == "wrong type" and "a whole number" in error.reason


def test_the_arrival_time_is_used_without_a_timestamp_rule() -> None:
    time_ms, _ = mapped({"a": 1}, rule("a", "a"))
    assert time_ms == NOW_MS


@pytest.mark.parametrize(
    ("raw", "fmt", "expected"),
    [
        (1_741_600_000_123, "epoch_ms", 1_741_600_000_123),
        (1_741_600_000, "epoch_s", 1_741_600_000_000),
        (1_741_600_000.25, "epoch_s", 1_741_600_000_250),
        ("2025-03-10T09:46:40.123Z", "rfc3339", 1_741_600_000_123),
        ("2025-03-10T17:46:40+08:00", "rfc3339", 1_741_600_000_000),
    ],
)
def test_timestamps_in_each_format(raw: object, fmt: Any, expected: int) -> None:
    time_ms, _ = mapped({"ts": raw, "a": 1}, rule("a", "a"), timestamp=TimeRule(("ts",), fmt))
    assert time_ms == expected


@pytest.mark.parametrize(
    ("raw", "fmt", "says"),
    [
        (1_741_600_000_123, "epoch_s", "looks like milliseconds"),
        (1_741_600_000, "epoch_ms", "looks like seconds"),
        (0, "epoch_s", "clock set"),
        (NOW_MS + 2 * 86_400_000, "epoch_ms", "ahead of the gateway's clock"),
        ("2025-03-10T09:46:40", "rfc3339", "no UTC offset"),
        ("yesterday", "rfc3339", "not RFC 3339"),
        ("1741600000", "epoch_s", "expected a number"),
        (1e308, "epoch_s", "looks like milliseconds"),
    ],
)
def test_bad_timestamps_are_refused_with_a_hint(raw: object, fmt: Any, says: str) -> None:
    error = refused({"ts": raw, "a": 1}, rule("a", "a"), timestamp=TimeRule(("ts",), fmt))
    assert error.kind == "bad timestamp"
    assert says in error.reason


def test_a_missing_timestamp_is_refused() -> None:
    error = refused({"a": 1}, rule("a", "a"), timestamp=TimeRule(("meta", "ts"), "epoch_ms"))
    assert error.kind == "bad timestamp" and "'meta.ts'" in error.reason


@pytest.mark.parametrize(
    ("payload", "kind", "says"),
    [
        (b"garbage", "not JSON", "not JSON"),
        (b"\xff\xfe\x00", "not JSON", ""),
        (b"[" * 100_000, "not JSON", ""),
        (b"42", "not JSON", "expected a JSON object"),
        ({"env": {}}, "missing field", "no value at 'env.temp'"),
        ({"env": {"temp": None}}, "missing field", "no value at 'env.temp'"),
        ({"env": [1, 2]}, "missing field", "no value at 'env.temp'"),
        ({"env": {"temp": "warm"}}, "wrong type", "is a string ('warm'), expected a number"),
        ({"env": {"temp": True}}, "wrong type", "is a boolean (true), expected a number"),
        ({"env": {"temp": {"v": 1}}}, "wrong type", "is an object"),
        (b'{"env": {"temp": NaN}}', "wrong type", "expected a finite number"),
        (b'{"env": {"temp": 1e999}}', "wrong type", "expected a finite number"),
    ],
)
def test_malformed_payloads_say_what_is_wrong(payload: object, kind: str, says: str) -> None:
    error = refused(payload, rule("temperature_c", "env.temp"))
    assert error.kind == kind
    assert says in error.reason


def test_the_reason_lists_the_keys_the_payload_has() -> None:
    error = refused({"tmp": 1, "hum": 2}, rule("temperature_c", "temp"))
    assert "the payload has keys: tmp, hum" in error.reason


def test_an_optional_field_may_be_absent_but_not_every_field() -> None:
    _, fields = mapped({"a": 1}, rule("a", "a"), rule("b", "b", required=False))
    assert fields == {"a": 1.0}
    error = refused({"c": 1}, rule("b", "b", required=False))
    assert error.kind == "missing field"


def test_an_empty_path_segment_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="empty segment"):
        parse_path("env..temp")


# --- properties -------------------------------------------------------------------------

KEYS = st.text(
    alphabet=st.characters(blacklist_characters=".", blacklist_categories=["Cs"]), min_size=1, max_size=8
)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(-1e12, 1e12, allow_nan=False)
    | st.text(max_size=8)
)
DOCUMENTS = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


def leaves(document: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every (path, value) of a JSON document's leaves."""
    if isinstance(document, dict):
        return [item for key, value in document.items() for item in leaves(value, (*path, key))]
    if isinstance(document, list):
        return [item for index, value in enumerate(document) for item in leaves(value, (*path, str(index)))]
    return [(path, document)]


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(KEYS, DOCUMENTS, min_size=1, max_size=5),
    scale=st.floats(-1e3, 1e3, allow_nan=False),
    offset=st.floats(-1e3, 1e3, allow_nan=False),
)
def test_every_numeric_leaf_is_found_by_its_path(
    document: dict[str, Any], scale: float, offset: float
) -> None:
    numbers = [
        (p, v) for p, v in leaves(document) if p and isinstance(v, int | float) and not isinstance(v, bool)
    ]
    rules = [FieldRule(f"f{i}", path, scale=scale, offset=offset) for i, (path, _) in enumerate(numbers)]
    if not rules:
        return
    _, fields = PayloadMapper(rules).map(json.dumps(document).encode(), NOW_MS)
    assert [name for name, _ in fields] == [r.field for r in rules]
    for (name, value), (_, raw) in zip(fields, numbers, strict=True):
        assert value == float(raw) * scale + offset, name


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(KEYS, DOCUMENTS, min_size=1, max_size=5),
    path=st.lists(KEYS, min_size=1, max_size=4),
)
def test_any_path_gives_a_value_or_says_why_not(document: dict[str, Any], path: list[str]) -> None:
    mapper = PayloadMapper([FieldRule("x", tuple(path))])
    try:
        _, fields = mapper.map(json.dumps(document).encode(), NOW_MS)
    except PayloadError as exc:
        assert exc.kind in ("missing field", "wrong type")
        assert "field x" in exc.reason
        return
    assert math.isfinite(float(fields[0][1]))


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_never_raise_anything_but_a_payload_error(payload: bytes) -> None:
    mapper = PayloadMapper(
        [FieldRule("x", ("a", "0")), FieldRule("y", ("b",), type="bool")], TimeRule(("ts",), "rfc3339")
    )
    try:
        mapper.map(payload, NOW_MS)
    except PayloadError as exc:
        assert exc.reason


@settings(max_examples=200, deadline=None)
@given(ms=st.integers(EARLIEST_MS, NOW_MS))
def test_epoch_and_rfc3339_timestamps_agree(ms: int) -> None:
    from datetime import UTC, datetime, timedelta

    text = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat()
    by_text = TimeRule(("t",), "rfc3339").to_ms(text, NOW_MS)
    by_ms = TimeRule(("t",), "epoch_ms").to_ms(ms, NOW_MS)
    by_s = TimeRule(("t",), "epoch_s").to_ms(ms / 1000, NOW_MS)
    assert by_text == by_ms == by_s == ms
