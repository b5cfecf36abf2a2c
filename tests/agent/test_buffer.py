"""The durable buffer: batches, per-sink cursors, the disk cap and what survives a reopen."""

import gzip
import sqlite3
from pathlib import Path

import pytest

from edge_agent.buffer import LOCAL, DiskBuffer, encode_batch


def lines(n: int, start: int = 0) -> list[str]:
    return [f"m,device=d v={i}.0 {1700000000000 + i}" for i in range(start, start + n)]


def test_batches_come_back_in_order_until_acknowledged(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "b.db", ["store"], max_disk=10**9)
    buffer.append(lines(3))
    buffer.append(lines(2, start=3))
    batches = buffer.read("store", max_points=100)
    assert [b.points for b in batches] == [3, 2]
    assert [line for b in batches for line in b.lines()] == lines(5)
    buffer.ack("store", batches[:1])
    assert [b.points for b in buffer.read("store", 100)] == [2]
    buffer.ack("store", buffer.read("store", 100))
    assert buffer.read("store", 100) == []
    stats = buffer.stats()
    assert stats.points == 0
    assert stats.counters == {"accepted": 5, "delivered:store": 5}


def test_a_batch_is_plain_gzip_that_any_reader_takes() -> None:
    """Stores inflate it as sent, whichever deflate (ISA-L or zlib) wrote it."""
    text = lines(5000)
    assert gzip.decompress(encode_batch(text)).decode() == "\n".join(text) + "\n"
    assert gzip.decompress(encode_batch(["m v=1i 1"])) == b"m v=1i 1\n"


def test_read_stops_near_max_points_but_always_returns_one_batch(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "b.db", ["s"], max_disk=10**9)
    for i in range(5):
        buffer.append(lines(10, start=i * 10))
    assert [b.points for b in buffer.read("s", 25)] == [10, 10]
    assert [b.points for b in buffer.read("s", 1)] == [10]


def test_each_sink_has_its_own_cursor(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "b.db", ["a", "b"], max_disk=10**9)
    buffer.append(lines(4))
    buffer.ack("a", buffer.read("a", 100))
    assert buffer.read("a", 100) == []
    assert sum(b.points for b in buffer.read("b", 100)) == 4
    assert buffer.stats().points == 4  # kept until b has it too
    buffer.ack("b", buffer.read("b", 100))
    assert buffer.stats().points == 0


def test_everything_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    buffer = DiskBuffer(path, ["s"], max_disk=10**9)
    buffer.append(lines(7))
    buffer.ack("s", buffer.read("s", 3)[:0])
    buffer.close()
    again = DiskBuffer(path, ["s"], max_disk=10**9)
    assert [line for b in again.read("s", 100) for line in b.lines()] == lines(7)


def test_a_new_sink_gets_what_is_buffered_and_a_removed_one_is_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    DiskBuffer(path, [], max_disk=10**9).append(lines(3))
    buffer = DiskBuffer(path, ["new"], max_disk=10**9)
    assert sum(b.points for b in buffer.read("new", 100)) == 3
    buffer.close()
    buffer = DiskBuffer(path, ["other"], max_disk=10**9)
    assert buffer.removed_sinks == ["new"]


def test_the_disk_cap_drops_the_oldest_and_counts_every_point(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "b.db", ["s"], max_disk=2000)
    dropped_total = 0
    for i in range(50):
        dropped_total += buffer.append(lines(20, start=i * 20)).dropped.get("s", 0)
    stats = buffer.stats()
    assert stats.bytes <= 2000 or stats.batches == 1
    assert dropped_total > 0
    assert stats.counters["dropped:s"] == dropped_total
    assert stats.counters["accepted"] == 1000 == stats.points + dropped_total
    newest = buffer.read("s", 10**6)
    assert newest[-1].lines()[-1] == lines(1, start=999)[0]


def test_without_sinks_drops_count_against_the_local_buffer(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "b.db", [], max_disk=1000)
    for i in range(20):
        buffer.append(lines(20, start=i * 20))
    assert buffer.stats().counters[f"dropped:{LOCAL}"] > 0


def test_dead_letters_keep_the_batch_and_move_the_cursor(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "b.db", ["s"], max_disk=10**9)
    buffer.append(lines(2))
    buffer.append(lines(1, start=2))
    bad = buffer.read("s", 1)[0]
    buffer.dead_letter("s", bad, 400, "unable to parse")
    assert [b.points for b in buffer.read("s", 100)] == [1]
    assert buffer.stats().counters["dead:s"] == 2


def test_tail_shows_the_newest_lines(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "b.db", [], max_disk=10**9)
    buffer.append(lines(5))
    buffer.append(lines(5, start=5))
    assert buffer.tail(3) == lines(3, start=7)
    assert buffer.tail(7) == lines(7, start=3)
    reader = DiskBuffer(tmp_path / "b.db", [], max_disk=10**9, readonly=True)
    assert reader.tail(1) == lines(1, start=9)


def test_a_reader_that_comes_before_the_agent_set_the_file_up_is_told_so(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    created = sqlite3.connect(path)  # as the agent's first moment leaves it: a file, no tables yet
    created.execute("PRAGMA journal_mode=WAL")
    created.close()
    with pytest.raises(FileNotFoundError, match=r"no buffer at .* yet"):
        DiskBuffer(path, [], max_disk=10**9, readonly=True)
    DiskBuffer(path, [], max_disk=10**9).close()  # the agent sets it up
    assert DiskBuffer(path, [], max_disk=10**9, readonly=True).stats().points == 0


def test_state_is_private(tmp_path: Path) -> None:
    DiskBuffer(tmp_path / "state" / "b.db", [], max_disk=10**9)
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "state" / "b.db").stat().st_mode & 0o777 == 0o600


def test_dead_letters_can_be_listed_and_replayed(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "b.db", ["s"], max_disk=10**9)
    buffer.append(lines(2))
    buffer.dead_letter("s", buffer.read("s", 10)[0], 400, "bad")
    [letter] = buffer.dead_letters()
    assert (letter.sink, letter.points, letter.status, letter.message) == ("s", 2, 400, "bad")
    assert buffer.read("s", 10) == []
    admin = DiskBuffer(tmp_path / "b.db", [], max_disk=10**9, owner=False)  # beside the agent
    assert admin.replay_dead() == 2
    admin.close()
    assert [line for b in buffer.read("s", 10) for line in b.lines()] == lines(2)
    assert buffer.dead_letters() == []


def test_an_unclean_stop_is_noticed_and_the_file_checked(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    first = DiskBuffer(path, ["s"], max_disk=10**9)
    first.append(lines(3))
    # No close(): as after SIGKILL or a power cut.
    second = DiskBuffer(path, ["s"], max_disk=10**9)
    assert not second.was_clean
    second.close()
    assert DiskBuffer(path, ["s"], max_disk=10**9).was_clean


def test_a_batch_dropped_while_on_its_way_counts_as_delivered_once_acknowledged(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "b.db", ["s"], max_disk=3000)
    buffer.append(lines(20))
    in_flight = buffer.read("s", 100)  # the forwarder has it and is sending it
    dropped = 0
    for i in range(1, 20):  # meanwhile the cap pushes it out
        dropped += buffer.append(lines(20, start=i * 20)).dropped.get("s", 0)
    assert dropped >= 20
    buffer.ack("s", in_flight)  # the store had stored it after all
    counters = buffer.stats().counters
    assert counters["dropped:s"] == dropped - 20
    assert counters["delivered:s"] == 20
