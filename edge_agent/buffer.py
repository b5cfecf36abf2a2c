"""The durable buffer: batches of line protocol in SQLite (WAL), one cursor per sink.

A batch is written once, gzip-compressed, in one transaction, and is the unit every sink
sends: the bytes on disk are the bytes on the wire. A batch leaves the buffer when every
configured sink has acknowledged it, or when the disk cap forces the oldest out; each
reading dropped that way is counted per sink.

A sink may settle its batches in any order (several requests in flight): each sink's
cursor marks the run it has settled with no gap, and ``settled_ahead`` the batches beyond
it. Settling a batch twice counts it once, so the books stay exact whatever the order.

:class:`DiskBuffer` is synchronous and belongs to one thread; the agent uses it through
:class:`AsyncBuffer`, which runs every call on a single worker thread off the event loop.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from campus_core.clock import now_ms

try:
    # ISA-L's deflate: gzip like zlib's, in a third of the time at level 1. Compression was
    # two thirds of an append (bench/README.md); where isal has no wheel, zlib does the job.
    from isal.isal_zlib import compress as _deflate
except ImportError:  # pragma: no cover - platforms without an isal wheel
    from zlib import compress as _deflate

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so cursors stay valid
    created_ms INTEGER NOT NULL,
    points INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    data BLOB NOT NULL                     -- gzip of newline-terminated line protocol
);
CREATE TABLE IF NOT EXISTS cursors (sink TEXT PRIMARY KEY, acked INTEGER NOT NULL);
-- Batches a sink has settled (delivered or dead-lettered) past its cursor: with several
-- requests in flight they finish out of order, and the cursor moves only past a run
-- with no gap, so nothing unsent is ever behind it.
CREATE TABLE IF NOT EXISTS settled_ahead (
    sink TEXT NOT NULL,
    batch_id INTEGER NOT NULL,
    PRIMARY KEY (sink, batch_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    batch_id INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    points INTEGER NOT NULL,
    status INTEGER NOT NULL,
    message TEXT NOT NULL,
    data BLOB NOT NULL
);
"""
#: With no sink configured, drops are counted against this name.
LOCAL = "local"
#: The rows of SQLite's own bookkeeping are small against batches; this is their share.
ROW_OVERHEAD = 64


@dataclass(frozen=True, slots=True)
class Batch:
    """One stored batch: its id, how many points it holds, and its gzip bytes."""

    id: int
    created_ms: int
    points: int
    data: bytes

    def lines(self) -> list[str]:
        """The batch's lines, decoded (for display and for splitting)."""
        return zlib.decompress(self.data, wbits=47).decode("utf-8").splitlines()


@dataclass(frozen=True, slots=True)
class Appended:
    """A committed batch, and what the disk cap forced out to make room for it."""

    id: int
    dropped: dict[str, int]
    newest_dropped_ms: int | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A batch a store refused, kept with its answer."""

    id: int
    sink: str
    batch_id: int
    created_ms: int
    points: int
    status: int
    message: str


@dataclass(frozen=True, slots=True)
class SinkBacklog:
    """What one sink has still to send."""

    sink: str
    batches: int
    points: int
    bytes: int
    oldest_ms: int | None


@dataclass(frozen=True, slots=True)
class BufferStats:
    """A snapshot of the buffer for status displays and metrics."""

    batches: int
    points: int
    bytes: int
    backlog: list[SinkBacklog]
    counters: dict[str, int] = field(default_factory=dict)


def encode_batch(lines: Sequence[str]) -> bytes:
    """gzip (level 1: fast, and stores get it as it is) of the lines, newline-terminated."""
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    return _deflate(payload, 1, wbits=31)


class BufferDamaged(sqlite3.DatabaseError):
    """The file opened, but SQLite's own check of its pages after an unclean stop failed."""


class DiskBuffer:
    """The SQLite buffer; every method must be called from the same thread."""

    def __init__(
        self,
        path: Path,
        sinks: Sequence[str],
        max_disk: int,
        sync: Literal["normal", "full"] = "normal",
        readonly: bool = False,
        owner: bool = True,
    ) -> None:
        """Open (creating if need be) the buffer at ``path``.

        The agent opens it as ``owner``: it registers the sinks' cursors and marks the file
        open, so that the next start after a crash checks it. The CLI opens it ``readonly``,
        or not as owner to replay dead letters beside a running agent.
        """
        self.path = path
        self.sinks = list(sinks)
        self.max_disk = max_disk
        self.removed_sinks: list[str] = []
        self.readonly = readonly
        self.owner = owner and not readonly
        self.was_clean = True
        self.last_drop_ms: int | None = None  # when the newest batch dropped for room was made
        self._bytes = 0
        # Batches handed to a sink by read() and not settled yet, and of those the ones the cap
        # dropped meanwhile: the cursor may pass a dropped batch, and when its request comes
        # back 2xx after all it still counts as delivered rather than dropped.
        self._out: dict[str, set[int]] = {}
        self._dropped_out: dict[str, dict[int, int]] = {}
        if readonly:
            if not path.exists():
                raise FileNotFoundError(f"no buffer at {path}")
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=10)
            if not self._scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'batches'"):
                # The file is there but the agent has not set it up yet (it is starting).
                self._db.close()
                raise FileNotFoundError(f"no buffer at {path} yet")
            self._bytes = self._scalar("SELECT COALESCE(SUM(bytes), 0) FROM batches")
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a process crash; FULL also survives a power cut.
            self._db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
            self._db.executescript(SCHEMA)
            self.was_clean = self._scalar("SELECT value FROM counters WHERE name = 'open'") == 0
            if owner and not self.was_clean:
                # After a crash or power cut, read every page once before trusting the file.
                verdict = self._db.execute("PRAGMA quick_check").fetchone()[0]
                if verdict != "ok":
                    raise BufferDamaged(f"quick_check: {verdict}")
        except sqlite3.DatabaseError:
            self._db.close()
            raise
        self._bytes = self._scalar("SELECT COALESCE(SUM(bytes), 0) FROM batches")
        if not owner:
            return
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO counters VALUES ('open', 1)")
            known = {row[0] for row in self._db.execute("SELECT sink FROM cursors")}
            for sink in self.sinks:
                if sink not in known:
                    # A new sink gets everything still in the buffer.
                    self._db.execute("INSERT INTO cursors VALUES (?, 0)", (sink,))
            self.removed_sinks = sorted(known - set(self.sinks))
            for sink in self.removed_sinks:
                self._db.execute("DELETE FROM cursors WHERE sink = ?", (sink,))
                self._db.execute("DELETE FROM settled_ahead WHERE sink = ?", (sink,))
            self._purge_acked()
        self._bytes = self._scalar("SELECT COALESCE(SUM(bytes), 0) FROM batches")
        os.chmod(path, 0o600)

    def close(self) -> None:
        """Close the database; committed batches are on disk."""
        if self.owner:
            with self._transaction():
                self._db.execute("INSERT OR REPLACE INTO counters VALUES ('open', 0)")
        self._db.close()

    def append(self, lines: Sequence[str]) -> Appended:
        """Store ``lines`` as one batch; say what had to be dropped to make room."""
        data = encode_batch(lines)
        size = len(data) + ROW_OVERHEAD
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO batches (created_ms, points, bytes, data) VALUES (?, ?, ?, ?)",
                (now_ms(), len(lines), size, data),
            )
            self._bump("accepted", len(lines))
            self._bytes += size
            self.last_drop_ms = None
            dropped = self._enforce_cap(cursor.lastrowid or 0)
        return Appended(cursor.lastrowid or 0, dropped, self.last_drop_ms)

    def read(self, sink: str, max_points: int, after: int = 0, upto: int | None = None) -> list[Batch]:
        """The oldest batches ``sink`` has not settled, up to about ``max_points`` points.

        Only batches with an id above ``after`` (what the caller already has in hand) and at
        most ``upto`` are read: a forwarder with several requests in flight reads on from
        where it left off, and reads the live end and the backlog apart.
        """
        acked = self._scalar("SELECT acked FROM cursors WHERE sink = ?", (sink,))
        batches: list[Batch] = []
        points = 0
        rows = self._db.execute(
            "SELECT id, created_ms, points, data FROM batches WHERE id > ? AND id <= ?"
            " AND id NOT IN (SELECT batch_id FROM settled_ahead WHERE sink = ?) ORDER BY id LIMIT 1000",
            (max(acked, after), upto if upto is not None else 2**62, sink),
        )
        for row in rows:
            if batches and points + row[2] > max_points:
                break
            batches.append(Batch(*row))
            points += row[2]
        self._out.setdefault(sink, set()).update(b.id for b in batches)
        return batches

    def newest_id(self) -> int:
        """The id of the newest batch (0 when the buffer is empty)."""
        return self._scalar("SELECT COALESCE(MAX(id), 0) FROM batches")

    def ack(self, sink: str, batches: Sequence[Batch]) -> None:
        """``sink`` has stored ``batches`` (in any order): settle them and free what all sinks have."""
        if not batches:
            return
        with self._transaction():
            fresh = self._unsettled(sink, batches)
            if not fresh:
                return
            # A batch the disk cap dropped while it was on its way to the store was counted as
            # dropped; the store has it after all, so it counts as delivered instead.
            ids = [b.id for b in fresh]
            present = self._present(ids)
            rescued = sum(b.points for b in fresh if b.id not in present)
            if rescued:
                self._bump(f"dropped:{sink}", -rescued)
            self._bump(f"delivered:{sink}", sum(b.points for b in fresh))
            self._settle(sink, ids)

    def dead_letter(self, sink: str, batch: Batch, status: int, message: str) -> None:
        """The store refused ``batch`` as malformed: keep it aside with the reason, and go on."""
        with self._transaction():
            if not self._unsettled(sink, [batch]):
                return
            self._db.execute(
                "INSERT INTO dead_letters (sink, batch_id, created_ms, points, status, message, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sink, batch.id, batch.created_ms, batch.points, status, message, batch.data),
            )
            if batch.id not in self._present([batch.id]):
                self._bump(f"dropped:{sink}", -batch.points)  # counted once: as dead, not dropped too
            self._bump(f"dead:{sink}", batch.points)
            self._settle(sink, [batch.id])

    def dead_letters(self) -> list[DeadLetter]:
        """Every batch a store refused, oldest first."""
        rows = self._db.execute(
            "SELECT id, sink, batch_id, created_ms, points, status, message FROM dead_letters ORDER BY id"
        ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def replay_dead(self, ids: Sequence[int] | None = None) -> int:
        """Queue dead-lettered batches again (all, or those ``ids``); return points requeued.

        A replayed batch is appended as a new batch, so every sink gets it again; a store
        that already holds some of its points overwrites them (same series and timestamp).
        """
        where, args = ("", ()) if ids is None else (f" WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))
        points = 0
        with self._transaction():
            rows = self._db.execute(f"SELECT id, points, data FROM dead_letters{where}", args).fetchall()
            for dead_id, count, data in rows:
                self._db.execute(
                    "INSERT INTO batches (created_ms, points, bytes, data) VALUES (?, ?, ?, ?)",
                    (now_ms(), count, len(data) + ROW_OVERHEAD, data),
                )
                self._db.execute("DELETE FROM dead_letters WHERE id = ?", (dead_id,))
                self._bytes += len(data) + ROW_OVERHEAD
                points += count
            self._bump("replayed", points)
        return points

    def stats(self) -> BufferStats:
        """Totals, per-sink backlog and counters."""
        batches, points = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(points), 0) FROM batches"
        ).fetchone()
        backlog = []
        for sink, acked in self._db.execute("SELECT sink, acked FROM cursors ORDER BY sink").fetchall():
            n, pts, size, oldest = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(points), 0), COALESCE(SUM(bytes), 0), MIN(created_ms)"
                " FROM batches WHERE id > ?"
                " AND id NOT IN (SELECT batch_id FROM settled_ahead WHERE sink = ?)",
                (acked, sink),
            ).fetchone()
            backlog.append(SinkBacklog(sink, n, pts, size, oldest))
        counters = dict(self._db.execute("SELECT name, value FROM counters WHERE name != 'open'").fetchall())
        return BufferStats(batches, points, self._bytes, backlog, counters)

    def tail(self, count: int) -> list[str]:
        """The newest ``count`` lines, oldest first."""
        lines: list[str] = []
        for row in self._db.execute("SELECT id, created_ms, points, data FROM batches ORDER BY id DESC"):
            lines[:0] = Batch(*row).lines()
            if len(lines) >= count:
                break
        return lines[-count:] if count else []

    def _enforce_cap(self, newest: int) -> dict[str, int]:
        dropped: dict[str, int] = {}
        while self._bytes > self.max_disk:
            row = self._db.execute(
                "SELECT id, points, bytes, created_ms FROM batches WHERE id < ? ORDER BY id LIMIT 1",
                (newest,),
            ).fetchone()
            if row is None:
                break
            batch_id, points, size, created_ms = row
            self.last_drop_ms = created_ms
            self._db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
            self._bytes -= size
            cursors = self._db.execute("SELECT sink, acked FROM cursors").fetchall()
            ahead = {
                row[0]
                for row in self._db.execute("SELECT sink FROM settled_ahead WHERE batch_id = ?", (batch_id,))
            }
            losers = [sink for sink, acked in cursors if acked < batch_id and sink not in ahead]
            for sink in losers or ([] if self.sinks else [LOCAL]):
                if batch_id in self._out.get(sink, ()):
                    self._dropped_out.setdefault(sink, {})[batch_id] = points
                dropped[sink] = dropped.get(sink, 0) + points
                self._bump(f"dropped:{sink}", points)
        return dropped

    def _unsettled(self, sink: str, batches: Sequence[Batch]) -> list[Batch]:
        """Of ``batches``, those ``sink`` has not settled yet (a second ack counts nothing)."""
        acked = self._scalar("SELECT acked FROM cursors WHERE sink = ?", (sink,))
        ahead = {
            row[0]
            for row in self._db.execute(
                "SELECT batch_id FROM settled_ahead WHERE sink = ? AND batch_id > ?", (sink, acked)
            )
        }
        dropped = self._dropped_out.get(sink, {})
        return [b for b in batches if (b.id > acked and b.id not in ahead) or b.id in dropped]

    def _present(self, ids: Sequence[int]) -> set[int]:
        return {
            row[0]
            for row in self._db.execute(
                f"SELECT id FROM batches WHERE id IN ({','.join('?' * len(ids))})", list(ids)
            )
        }

    def _settle(self, sink: str, ids: Sequence[int]) -> None:
        """Mark ``ids`` settled for ``sink``; move its cursor past the run with no gap."""
        out, dropped = self._out.get(sink, set()), self._dropped_out.get(sink, {})
        for i in ids:
            out.discard(i)
            dropped.pop(i, None)
        self._db.executemany("INSERT OR IGNORE INTO settled_ahead VALUES (?, ?)", [(sink, i) for i in ids])
        acked = self._scalar("SELECT acked FROM cursors WHERE sink = ?", (sink,))
        gap = self._db.execute(
            "SELECT MIN(id) FROM batches WHERE id > ?"
            " AND id NOT IN (SELECT batch_id FROM settled_ahead WHERE sink = ?)",
            (acked, sink),
        ).fetchone()[0]
        if gap is None:
            # Everything stored past the cursor is settled: the cursor goes to the last of them.
            last = self._scalar("SELECT MAX(batch_id) FROM settled_ahead WHERE sink = ?", (sink,))
            cursor = max(acked, last)
        else:
            cursor = max(acked, gap - 1)
        self._db.execute("UPDATE cursors SET acked = ? WHERE sink = ?", (cursor, sink))
        self._db.execute("DELETE FROM settled_ahead WHERE sink = ? AND batch_id <= ?", (sink, cursor))
        self._purge_acked()

    def _purge_acked(self) -> None:
        if not self.sinks:
            return
        floor = self._scalar("SELECT MIN(acked) FROM cursors")
        if floor:
            freed = self._scalar("SELECT COALESCE(SUM(bytes), 0) FROM batches WHERE id <= ?", (floor,))
            self._db.execute("DELETE FROM batches WHERE id <= ?", (floor,))
            self._bytes -= freed

    def _bump(self, name: str, by: int) -> None:
        self._db.execute(
            "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
            (name, by, by),
        )

    def _scalar(self, sql: str, args: tuple[object, ...] = ()) -> int:
        row = self._db.execute(sql, args).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


class AsyncBuffer:
    """:class:`DiskBuffer` for the event loop: each call runs on one worker thread.

    A call whose awaiting task is cancelled still runs to its end on the worker, so a
    transaction is never left half-written.
    """

    def __init__(self, buffer_factory: Callable[[], DiskBuffer]) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="buffer")
        self._factory = buffer_factory
        self._buffer: DiskBuffer | None = None

    async def open(self) -> DiskBuffer:
        """Open (and create or migrate) the database on the worker thread."""
        self._buffer = await self._run(self._factory)
        return self._buffer

    async def close(self) -> None:
        """Close the database and stop the worker."""
        if self._buffer is not None:
            await self._run(self._buffer.close)
        self._executor.shutdown(wait=True)

    async def append(self, lines: Sequence[str]) -> Appended:
        """See :meth:`DiskBuffer.append`."""
        return await self._run(self._db.append, lines)

    async def read(self, sink: str, max_points: int, after: int = 0, upto: int | None = None) -> list[Batch]:
        """See :meth:`DiskBuffer.read`."""
        return await self._run(self._db.read, sink, max_points, after, upto)

    async def newest_id(self) -> int:
        """See :meth:`DiskBuffer.newest_id`."""
        return await self._run(self._db.newest_id)

    async def ack(self, sink: str, batches: Sequence[Batch]) -> None:
        """See :meth:`DiskBuffer.ack`."""
        await self._run(self._db.ack, sink, batches)

    async def dead_letter(self, sink: str, batch: Batch, status: int, message: str) -> None:
        """See :meth:`DiskBuffer.dead_letter`."""
        await self._run(self._db.dead_letter, sink, batch, status, message)

    async def stats(self) -> BufferStats:
        """See :meth:`DiskBuffer.stats`."""
        return await self._run(self._db.stats)

    @property
    def _db(self) -> DiskBuffer:
        if self._buffer is None:
            raise RuntimeError("buffer is not open")
        return self._buffer

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        # shield: cancelling the caller must not abandon a commit mid-way on the worker.
        return await asyncio.shield(future)
