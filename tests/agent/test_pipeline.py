"""The pipeline's intake: encode, batch, commit; deliver() returns only once on disk."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from campus_core.readings import Reading
from edge_agent.buffer import AsyncBuffer, DiskBuffer
from edge_agent.normalise import PointEncoder
from edge_agent.pipeline import Pipeline
from edge_agent.status import AgentStatus


def reading(i: int) -> Reading:
    return Reading.of("d", 1_700_000_000_000 + i, (("v", float(i)),))


async def open_pipeline(
    tmp_path: Path, flush: float, batch: int
) -> tuple[Pipeline, AsyncBuffer, AgentStatus]:
    buffer = AsyncBuffer(lambda: DiskBuffer(tmp_path / "b.db", [], 10**9))
    await buffer.open()
    status = AgentStatus()
    return Pipeline(buffer, {"d": PointEncoder("m", {"device": "d"})}, status, flush, batch), buffer, status


async def test_deliver_returns_once_the_readings_are_committed(tmp_path: Path) -> None:
    pipeline, buffer, status = await open_pipeline(tmp_path, flush=0.2, batch=1000)
    running = asyncio.create_task(pipeline.run())
    try:
        await asyncio.wait_for(pipeline.deliver([reading(1), reading(2)]), 5)
        assert (await buffer.stats()).points == 2
        assert status.points_buffered == 2
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await buffer.close()


async def test_a_full_batch_is_committed_without_waiting_for_the_interval(tmp_path: Path) -> None:
    pipeline, buffer, _ = await open_pipeline(tmp_path, flush=60, batch=10)
    running = asyncio.create_task(pipeline.run())
    try:
        await asyncio.wait_for(pipeline.deliver([reading(i) for i in range(10)]), 5)
        stats = await buffer.stats()
        assert (stats.batches, stats.points) == (1, 10)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await buffer.close()


async def test_flush_commits_everything_pending_in_batches(tmp_path: Path) -> None:
    pipeline, buffer, status = await open_pipeline(tmp_path, flush=60, batch=4)
    pipeline.accept([reading(i) for i in range(10)])
    await pipeline.flush()
    stats = await buffer.stats()
    assert (stats.batches, stats.points) == (3, 10)
    assert status.points_accepted == status.points_buffered == 10
    await buffer.close()


async def test_lines_that_arrive_during_a_flush_wait_for_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under a steady load a flush that chased new arrivals committed a batch of a few lines
    # after every append, and the sink sent a request for each.
    pipeline, buffer, status = await open_pipeline(tmp_path, flush=60, batch=1000)
    real_append = buffer.append

    async def append_while_polling(lines: list[str]) -> object:
        pipeline.accept([reading(100)])  # a poll that lands while the batch is on its way to disk
        return await real_append(lines)

    monkeypatch.setattr(buffer, "append", append_while_polling)
    pipeline.accept([reading(i) for i in range(10)])
    await pipeline.flush()
    stats = await buffer.stats()
    assert (stats.batches, stats.points) == (1, 10)
    assert status.points_accepted == 11 and status.points_buffered == 10
    monkeypatch.undo()
    await pipeline.flush()
    assert (await buffer.stats()).points == 11
    await buffer.close()


async def test_a_full_disk_keeps_readings_in_memory_until_there_is_room(tmp_path: Path) -> None:
    pipeline, buffer, status = await open_pipeline(tmp_path, flush=60, batch=1000)
    disk = buffer._db
    pages = disk._db.execute("PRAGMA page_count").fetchone()[0]
    # SQLITE_FULL, as ENOSPC gives: the file may not grow past its current size.
    disk._db.execute(f"PRAGMA max_page_count={pages}")
    big = [
        Reading.of("d", 1_700_000_000_000 + i, tuple((f"f{j}", float(i * j)) for j in range(50)))
        for i in range(300)
    ]
    pipeline.accept(big)
    await pipeline.flush()
    assert status.buffer_errors == 1
    assert status.points_buffered == 0
    assert (await buffer.stats()).points == 0
    disk._db.execute("PRAGMA max_page_count=1073741823")  # room again
    await pipeline.flush()
    assert status.points_buffered == 300 == (await buffer.stats()).points
    assert status.points_dropped == 0
    await buffer.close()
