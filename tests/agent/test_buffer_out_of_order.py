"""Settling out of order: several requests in flight finish in any order, the books stay exact."""

from pathlib import Path

from edge_agent.buffer import DiskBuffer


def lines(n: int, start: int = 0) -> list[str]:
    return [f"m,device=d v={i}.0 {1700000000000 + i}" for i in range(start, start + n)]


def filled(path: Path, sinks: list[str], batches: int = 5, cap: int = 10**9) -> DiskBuffer:
    buffer = DiskBuffer(path, sinks, max_disk=cap)
    for i in range(batches):
        buffer.append(lines(10, start=i * 10))
    return buffer


def test_a_later_batch_acked_first_leaves_the_earlier_one_waiting(tmp_path: Path) -> None:
    buffer = filled(tmp_path / "b.db", ["s"])
    first, second, *_ = buffer.read("s", 1000)
    buffer.ack("s", [second])
    assert [b.id for b in buffer.read("s", 1000)] == [first.id, 3, 4, 5]
    assert buffer.stats().backlog[0].points == 40
    buffer.ack("s", [first])
    assert [b.id for b in buffer.read("s", 1000)] == [3, 4, 5]
    assert buffer.stats().points == 30  # the first two are freed once the run has no gap


def test_what_is_settled_ahead_survives_a_reopen_and_is_not_sent_again(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    buffer = filled(path, ["s"])
    batches = buffer.read("s", 1000)
    buffer.ack("s", [batches[1], batches[3]])
    buffer.dead_letter("s", batches[4], 400, "bad")
    buffer.close()
    again = DiskBuffer(path, ["s"], max_disk=10**9)
    assert [b.id for b in again.read("s", 1000)] == [batches[0].id, batches[2].id]
    again.ack("s", [batches[2], batches[0]])
    assert again.read("s", 1000) == []
    counters = again.stats().counters
    assert counters == {"accepted": 50, "delivered:s": 40, "dead:s": 10}
    assert again.stats().points == 0


def test_a_second_ack_of_the_same_batch_counts_nothing(tmp_path: Path) -> None:
    buffer = filled(tmp_path / "b.db", ["s"], batches=3)
    batches = buffer.read("s", 1000)
    buffer.ack("s", [batches[2]])
    buffer.ack("s", [batches[2]])
    buffer.ack("s", batches)
    buffer.ack("s", batches)
    assert buffer.stats().counters["delivered:s"] == 30


def test_read_after_and_upto_give_the_two_ends_of_a_backlog(tmp_path: Path) -> None:
    buffer = filled(tmp_path / "b.db", ["s"])
    assert [b.id for b in buffer.read("s", 1000, after=2, upto=4)] == [3, 4]
    assert [b.id for b in buffer.read("s", 1000, after=4)] == [5]
    assert buffer.newest_id() == 5


def test_the_cap_counts_no_loss_for_a_batch_already_settled_ahead(tmp_path: Path) -> None:
    buffer = filled(tmp_path / "b.db", ["s"], batches=3)
    size = buffer.stats().bytes
    batches = buffer.read("s", 1000)
    buffer.ack("s", [batches[0]])  # freed at once
    buffer.ack("s", [batches[2]])  # kept, ahead of the gap at batch 2
    buffer.max_disk = size  # room for three batches: the next append drops the oldest stored
    buffer.append(lines(10, start=100))
    buffer.append(lines(10, start=110))
    counters = buffer.stats().counters
    # Batch 2 (unsent) is dropped and counted; batch 3 (settled ahead) goes without a loss.
    assert counters["dropped:s"] == 10
    assert counters["delivered:s"] == 20
    assert [b.id for b in buffer.read("s", 1000)] == [4, 5]


def test_a_dropped_batch_delivered_late_counts_as_delivered_and_dead_letters_once(tmp_path: Path) -> None:
    buffer = filled(tmp_path / "b.db", ["s"], batches=3)
    size = buffer.stats().bytes
    in_flight = buffer.read("s", 1000)
    buffer.max_disk = size
    buffer.append(lines(10, start=100))
    buffer.append(lines(10, start=110))  # the oldest dropped while "in flight"
    assert buffer.stats().counters["dropped:s"] >= 20
    buffer.ack("s", [in_flight[2], in_flight[1]])
    buffer.dead_letter("s", in_flight[0], 400, "bad")
    counters = buffer.stats().counters
    assert counters["dropped:s"] == 0
    assert counters["delivered:s"] == 20 and counters["dead:s"] == 10
    accepted = counters["accepted"]
    pending = buffer.stats().backlog[0].points
    assert accepted == counters["delivered:s"] + counters["dead:s"] + counters["dropped:s"] + pending
