"""Durations and sizes as a technician writes them."""

import pytest

from campus_core.units import format_duration, format_size, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25), ("1d", 86400), ("1.5s", 1.5), (7, 7)],
)
def test_durations_are_read_in_seconds(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10", "ten seconds", "5 m", "", "-1s", "0s", "1s5", True])
def test_bad_durations_say_how_to_write_one(text: object) -> None:
    with pytest.raises(ValueError, match=r"duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [("2GiB", 2 * 2**30), ("500MB", 500_000_000), ("64KiB", 65536), ("1.5MiB", 1572864), (4096, 4096)],
)
def test_sizes_are_read_in_bytes(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "2 gigs", "-1MB", "0B", False])
def test_bad_sizes_say_how_to_write_one(text: object) -> None:
    with pytest.raises(ValueError, match=r"size"):
        parse_size(text)


def test_formatting_reads_back() -> None:
    assert format_duration(300) == "5m"
    assert format_duration(0.25) == "250ms"
    assert format_duration(10) == "10s"
    assert format_size(2 * 2**30) == "2GiB"
