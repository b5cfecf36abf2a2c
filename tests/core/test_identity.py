"""What a device states about itself is cleaned before it becomes a tag: printable, capped, or dropped."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campus_core.identity import MAX_TEXT, Cleaning, Identity, clean_text
from edge_agent.lineprotocol import series_prefix
from tests.support.lineparser import parse


def test_modbus_padding_goes_without_a_count() -> None:
    counts = Cleaning()
    assert clean_text(b"Simulated Metering\x00\x00\x00", counts) == "Simulated Metering"
    assert clean_text(b"SDM630      ", counts) == "SDM630"
    assert counts == Cleaning(0, 0)


def test_control_characters_are_removed_and_counted() -> None:
    counts = Cleaning()
    assert clean_text("v3.3\x1b[31m.1\r\n", counts) == "v3.3[31m.1"
    assert clean_text("line one\nline two\tend", counts) == "line one line two end"
    assert counts.cleaned == 1 and counts.dropped == 0


def test_a_value_longer_than_the_cap_is_cut_and_counted() -> None:
    counts = Cleaning()
    text = clean_text("x" * 5000, counts)
    assert text == "x" * MAX_TEXT
    assert counts.cleaned == 1


def test_garbage_is_dropped_and_counted() -> None:
    counts = Cleaning()
    assert clean_text(bytes(range(32)) + b"ok", counts) is None  # more lost than kept
    assert clean_text(b"\xff\xfe\xfd\x80\x81", counts) is None  # neither UTF-8 nor GB18030
    assert counts.dropped == 2


def test_chinese_makers_in_gb18030_are_read() -> None:
    assert clean_text("上海仪表厂".encode("gb18030")) == "上海仪表厂"
    assert clean_text("上海仪表厂".encode()) == "上海仪表厂"


def test_nothing_stated_is_no_value_and_no_count() -> None:
    counts = Cleaning()
    assert clean_text(None, counts) is None
    assert clean_text(b"\x00\x00", counts) is None
    assert clean_text("   ", counts) is None
    assert counts == Cleaning(0, 0)


def test_an_identity_takes_the_first_source_of_each_key_and_counts_what_it_cleaned() -> None:
    raw: list[tuple[str, str | bytes | None]] = [
        ("vendor", b"ACME\x07"),
        ("vendor", "second"),
        ("firmware", None),
        ("firmware", "1.2"),
        ("model", ""),
    ]
    identity = Identity.stated(raw)
    assert identity.pairs == (("vendor", "ACME"), ("firmware", "1.2"))
    assert identity.cleaned == 1
    with pytest.raises(ValueError, match="not one of"):
        Identity.stated({"password": "x"})


def test_the_profile_fills_only_what_the_device_does_not_state() -> None:
    device = Identity.stated({"vendor": "Simulated Metering", "firmware": "3.3.1"})
    profile = Identity.stated({"vendor": "Eastron", "model": "SDM630"})
    merged = device.over(profile)
    assert merged.as_dict() == {"vendor": "Simulated Metering", "model": "SDM630", "firmware": "3.3.1"}
    assert Identity().over(profile) == profile


@given(st.text(max_size=400) | st.binary(max_size=400))
def test_whatever_a_device_states_makes_one_valid_line(raw: str | bytes) -> None:
    text = clean_text(raw)
    if text is None:
        return
    assert len(text) <= MAX_TEXT
    assert text.isprintable()
    line = series_prefix("asset", {"device": "meter-1", "firmware": text}) + " info=1.0 1700000000000"
    assert "\n" not in line
    parsed = parse(line)
    assert parsed.tags["firmware"] == text
