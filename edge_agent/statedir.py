"""The state directory: one agent at a time, and a damaged buffer never stops the agent.

An ``flock`` on ``agent.lock`` keeps a second agent off the same buffer; the kernel drops
it when the process dies, so a lock can never be stale. A buffer file SQLite cannot read
(truncated, overwritten, corrupt pages) is moved aside with a clear message and the agent
starts on a fresh one, rather than crash-looping under systemd.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from .buffer import BufferDamaged, DiskBuffer
from .config import AgentConfig

log = structlog.get_logger("edge_agent.statedir")

LOCK_FILE = "agent.lock"
BUFFER_FILE = "buffer.db"


def buffer_path(config: AgentConfig) -> Path:
    """Where the buffer database lives."""
    return config.agent.state_dir / BUFFER_FILE


#: SQLite's primary result codes that mean the file itself is damaged. Any other error on
#: opening (disk full, I/O error, read-only, no permission) leaves an intact file alone.
DAMAGED_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


class StateDirError(Exception):
    """The state directory cannot be used, so the agent cannot start; the message says why."""


class StateDirBusy(StateDirError):
    """Another agent holds the state directory."""


class StateLock:
    """Holds ``state_dir/agent.lock`` for the life of the agent."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`StateDirBusy` naming the holder (:class:`StateDirError`
        when the directory cannot be made or written)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateDirError(
                f"the state directory {self.path.parent} cannot be used: "
                f"{exc.strerror or exc}; check agent.state_dir and that the agent's "
                "user may write there"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StateDirBusy(
                f"another edge-agent (pid {holder}) is using {self.path.parent}; "
                "stop it first, or give this one its own agent.state_dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def open_buffer(factory: Callable[[], DiskBuffer], path: Path) -> DiskBuffer:
    """Open the buffer; if SQLite finds it damaged, move it aside and start a fresh one.

    Only damage moves it: a full disk or an I/O error at start would otherwise abandon an
    intact backlog. Those raise :class:`StateDirError` and leave the file as it is; the
    service manager starts the agent again, and once the disk has room it goes on from there.
    """
    try:
        return factory()
    except sqlite3.DatabaseError as exc:
        if not damaged(exc):
            raise StateDirError(
                f"cannot open the buffer {path}: {exc}; free space on its disk or "
                "fix the file system, then start again (the buffer is left as it is)"
            ) from exc
        aside = move_aside(path)
        log.error(
            "buffer file is damaged; moved aside, starting with an empty buffer "
            "(its readings are not sent; keep the file for analysis)",
            buffer=str(path),
            error=str(exc),
            moved_to=str(aside),
        )
    return factory()


def damaged(error: sqlite3.DatabaseError) -> bool:
    """Whether ``error`` says the file is damaged, rather than that it could not be written now."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return isinstance(error, BufferDamaged)
    return (code & 0xFF) in DAMAGED_CODES  # extended codes keep the primary one in the low byte


def move_aside(path: Path) -> Path:
    """Rename the database and its WAL and shared-memory files to ``*.damaged-<time>``."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(Path(f"{target}{suffix}"))
    return target
