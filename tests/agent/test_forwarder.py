"""The forwarder against every answer a store gives: nothing accepted is ever lost.

Answers a real store will not produce on demand (429, 413, 401, 400, a hang) come from a
scripted stub; the happy path runs against VictoriaMetrics in the integration tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from edge_agent.buffer import AsyncBuffer, DiskBuffer
from edge_agent.forwarder import Forwarder
from edge_agent.sinks.influxdb import InfluxDBSink
from edge_agent.sinks.influxdb_config import InfluxDBSink as SinkConfig
from edge_agent.status import AgentStatus, SinkStatus
from tests.support.processes import until
from tests.support.stubstore import Answer, StubStore


def lines(n: int, start: int = 0) -> list[str]:
    return [f"m,device=d v={i}.0 {1700000000000 + i}" for i in range(start, start + n)]


async def deliver(
    tmp_path: Path,
    store: StubStore,
    batches: list[list[str]],
    *,
    request_timeout: str = "2s",
    batch_points: int = 5000,
    wait: float = 20.0,
    **pacing: Any,
) -> tuple[AgentStatus, DiskBuffer]:
    """Buffer ``batches``, run a forwarder into ``store`` until the buffer is empty."""
    config = SinkConfig(
        url=store.url,
        bucket="b",
        name="s",
        retry_max="500ms",
        timeout=request_timeout,
        batch_points=batch_points,
        **pacing,
    )
    status = AgentStatus()
    status.sinks["s"] = SinkStatus("s", store.url)
    path = tmp_path / "buffer.db"
    buffer = AsyncBuffer(lambda: DiskBuffer(path, ["s"], 10**9))
    disk = await buffer.open()
    for batch in batches:
        await buffer.append(batch)
    forwarder = Forwarder(buffer, [InfluxDBSink(config)], status)
    task = asyncio.create_task(forwarder.run())
    try:
        assert await forwarder.drained(wait), "the buffer did not drain"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return status, disk


async def test_all_batches_arrive_in_order(tmp_path: Path) -> None:
    async with StubStore() as store:
        status, _ = await deliver(tmp_path, store, [lines(3), lines(3, 3), lines(3, 6)])
    assert store.accepted == lines(9)
    assert status.sinks["s"].sent_points == 9


async def test_a_server_error_is_retried_until_accepted(tmp_path: Path) -> None:
    async with StubStore([Answer(503, "overloaded"), Answer(500, "oops")]) as store:
        status, _ = await deliver(tmp_path, store, [lines(5)])
    assert store.accepted == lines(5)
    assert status.sinks["s"].failures == 2
    assert "answered 500: oops" in (status.sinks["s"].last_error or "")


async def test_retry_after_is_honoured(tmp_path: Path) -> None:
    async with StubStore([Answer(429, "slow down", {"Retry-After": "1"})]) as store:
        await deliver(tmp_path, store, [lines(2)])
    first, second = store.received
    assert second.at - first.at >= 0.95
    assert store.accepted == lines(2)


async def test_bad_points_go_to_dead_letters_and_the_queue_goes_on(tmp_path: Path) -> None:
    def refuse_batch_two(received: list[str]) -> Answer | None:
        refused = "m,device=d v=3.0 1700000000003" in received
        return Answer(400, "unable to parse 'm v=3.0'") if refused else None

    async with StubStore(decide=refuse_batch_two) as store:
        status, disk = await deliver(tmp_path, store, [lines(3), lines(3, 3), lines(3, 6)])
    assert store.accepted == lines(3) + lines(3, 6)
    counters = disk.stats().counters
    assert counters["dead:s"] == 3
    assert counters["delivered:s"] == 6
    assert status.sinks["s"].dead_points == 3
    row = disk._db.execute("SELECT status, message FROM dead_letters").fetchone()
    assert row == (400, f"http://127.0.0.1:{store.port} answered 400: unable to parse 'm v=3.0'")


async def test_refused_credentials_keep_the_data_and_say_so(tmp_path: Path) -> None:
    async with StubStore([Answer(401, "unauthorized access"), Answer(403, "forbidden")]) as store:
        status, _ = await deliver(tmp_path, store, [lines(4)])
    assert store.accepted == lines(4)
    assert status.sinks["s"].failures == 2
    assert "check the token" in (status.sinks["s"].last_error or "")


async def test_too_large_is_sent_in_halves(tmp_path: Path) -> None:
    def at_most_four(received: list[str]) -> Answer | None:
        return Answer(413, "request entity too large") if len(received) > 4 else None

    async with StubStore(decide=at_most_four) as store:
        status, disk = await deliver(tmp_path, store, [lines(10), lines(3, 10)])
    assert sorted(store.accepted) == sorted(lines(13))
    assert disk.stats().counters["delivered:s"] == 13
    assert status.sinks["s"].sent_points == 13


async def test_a_redirect_is_not_followed_but_named(tmp_path: Path) -> None:
    moved = Answer(301, "", {"Location": "https://tsdb.edu-metro.example:8086/api/v2/write"})
    async with StubStore([moved]) as store:
        status, _ = await deliver(tmp_path, store, [lines(2)])
    assert store.accepted == lines(2)  # the stub answers 204 after the script: nothing was lost meanwhile
    assert len(store.received) == 2
    assert (
        "answered 301, a redirect to https://tsdb.edu-metro.example:8086/api/v2/write: set url to "
        "where it points"
    ) in (status.sinks["s"].last_error or "")


async def test_a_hanging_store_times_out_and_is_retried(tmp_path: Path) -> None:
    async with StubStore([Answer(204, delay=5)]) as store:
        status, _ = await deliver(tmp_path, store, [lines(2)], request_timeout="500ms")
    assert "did not answer" in (status.sinks["s"].last_error or "")
    assert len(store.received) == 2


async def test_an_unreachable_store_keeps_everything(tmp_path: Path) -> None:
    store = StubStore()  # never started: connection refused
    with pytest.raises(AssertionError, match="did not drain"):
        await deliver(tmp_path, store, [lines(3)], wait=2)
    disk = DiskBuffer(tmp_path / "buffer.db", ["s"], 10**9)
    assert disk.stats().points == 3


async def test_a_token_file_that_holds_no_token_is_named_and_retried_until_fixed(tmp_path: Path) -> None:
    token = tmp_path / "city.token"
    token.write_text("s3cret-token\n# rotated 2026-11-28\n")  # a note left in the file
    token.chmod(0o600)
    async with StubStore() as store:
        config = SinkConfig(url=store.url, bucket="b", name="s", retry_max="300ms", token_file=token)
        status = AgentStatus()
        status.sinks["s"] = SinkStatus("s", store.url)
        buffer = AsyncBuffer(lambda: DiskBuffer(tmp_path / "buffer.db", ["s"], 10**9))
        await buffer.open()
        await buffer.append(lines(2))
        forwarder = Forwarder(buffer, [InfluxDBSink(config)], status)
        task = asyncio.create_task(forwarder.run())
        try:
            await until(lambda: status.sinks["s"].failures >= 1, 10, "the token refused")
            assert "token_file should hold the token alone" in (status.sinks["s"].last_error or "")
            token.write_bytes(b"\xff\xfe\x00")  # not text at all
            await until(
                lambda: "cannot read token_file" in (status.sinks["s"].last_error or ""),
                10,
                "the unreadable token named",
            )
            assert not task.done() and not store.received
            token.write_text("s3cret-token\n")
            assert await forwarder.drained(10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await buffer.close()
    assert store.accepted == lines(2)
    assert [r.authorization for r in store.received] == ["Token s3cret-token"]
    assert "s3cret-token" not in (status.sinks["s"].last_error or "")


# ---------------------------------------------------------------- pacing: several in flight


def books(disk: DiskBuffer) -> tuple[int, int]:
    counters = disk.stats().counters
    return counters["accepted"], counters.get("delivered:s", 0) + counters.get("dead:s", 0)


async def test_requests_overlap_up_to_max_in_flight_and_each_batch_arrives_once(tmp_path: Path) -> None:
    async with StubStore(decide=lambda _: Answer(delay=0.05)) as store:
        status, disk = await deliver(
            tmp_path, store, [lines(10, 10 * i) for i in range(60)], batch_points=10, max_in_flight=4
        )
    assert 2 <= store.most_in_flight <= 4
    assert sorted(store.accepted) == sorted(lines(600))  # all of it, nothing twice
    assert books(disk) == (600, 600) and disk.stats().points == 0
    assert status.sinks["s"].concurrency > 1


async def test_a_request_failing_among_others_in_flight_goes_back_and_arrives(tmp_path: Path) -> None:
    failed: list[int] = []

    def refuse_once(received: list[str]) -> Answer:
        if "m,device=d v=55.0 1700000000055" in received and not failed:
            failed.append(1)
            return Answer(503, "too many concurrent inserts", delay=0.05)
        return Answer(delay=0.05)

    async with StubStore(decide=refuse_once) as store:
        status, disk = await deliver(
            tmp_path, store, [lines(10, 10 * i) for i in range(30)], batch_points=10, max_in_flight=4
        )
    assert sorted(store.accepted) == sorted(lines(300))
    assert books(disk) == (300, 300)
    assert status.sinks["s"].throttled == 1


async def test_refusals_bring_the_limit_below_one_and_nothing_is_lost(tmp_path: Path) -> None:
    answers = iter([Answer(429, "slow down"), Answer()] * 100)
    limits: list[float] = []

    status = AgentStatus()

    def watch(received: list[str]) -> Answer:
        limits.append(status.sinks["s"].concurrency)
        return next(answers)

    async with StubStore(decide=watch) as store:
        config = SinkConfig(url=store.url, bucket="b", name="s", retry_max="200ms", batch_points=10)
        status.sinks["s"] = SinkStatus("s", store.url)
        buffer = AsyncBuffer(lambda: DiskBuffer(tmp_path / "buffer.db", ["s"], 10**9))
        disk = await buffer.open()
        for i in range(12):
            await buffer.append(lines(10, 10 * i))
        forwarder = Forwarder(buffer, [InfluxDBSink(config)], status)
        task = asyncio.create_task(forwarder.run())
        try:
            assert await forwarder.drained(60), "the buffer did not drain"
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert min(limits) < 1.0  # it paused after answers rather than press on
    assert sorted(store.accepted) == sorted(lines(120))
    assert books(disk) == (120, 120)
    assert status.sinks["s"].throttled == len(store.received) - 12


async def test_max_rate_spaces_the_requests(tmp_path: Path) -> None:
    async with StubStore() as store:
        await deliver(
            tmp_path,
            store,
            [lines(10, 10 * i) for i in range(11)],
            batch_points=10,
            max_rate=100.0,
            max_in_flight=4,
        )
    first, last = store.received[0].at, store.received[-1].at
    assert last - first >= 0.9  # 100 points after the first request's at 100 points/s
    assert sorted(store.accepted) == sorted(lines(110))
