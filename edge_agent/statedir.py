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

from .buffer import DiskBuffer

log = structlog.get_logger("edge_agent.statedir")

LOCK_FILE = "agent.lock"


class StateDirBusy(Exception):
    """Another agent holds the state directory."""


class StateLock:
    """Holds ``state_dir/agent.lock`` for the life of the agent."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`StateDirBusy` naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
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
    """Open the buffer; if SQLite finds it damaged, move it aside and start a fresh one."""
    try:
        return factory()
    except sqlite3.DatabaseError as exc:
        aside = move_aside(path)
        log.error("buffer file is damaged; moved aside, starting with an empty buffer "
                  "(its readings are not sent; keep the file for analysis)",
                  buffer=str(path), error=str(exc), moved_to=str(aside))
    return factory()


def move_aside(path: Path) -> Path:
    """Rename the database and its WAL and shared-memory files to ``*.damaged-<time>``."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(Path(f"{target}{suffix}"))
    return target
