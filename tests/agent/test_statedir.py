"""The state directory: one agent at a time; a damaged buffer is moved aside, never fatal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.buffer import DiskBuffer
from edge_agent.statedir import StateDirBusy, StateDirError, StateLock, open_buffer


def lines(n: int) -> list[str]:
    return [f"m,device=d v={i}.0 {1700000000000 + i}" for i in range(n)]


def test_a_second_agent_on_the_same_state_dir_is_refused(tmp_path: Path) -> None:
    held = StateLock(tmp_path)
    held.acquire()
    with pytest.raises(StateDirBusy, match=rf"another edge-agent \(pid {os.getpid()}\) is using {tmp_path}"):
        StateLock(tmp_path).acquire()
    held.release()
    again = StateLock(tmp_path)
    again.acquire()
    again.release()


def test_the_lock_of_a_killed_process_is_not_stale(tmp_path: Path) -> None:
    code = (
        "import sys, os, signal; from pathlib import Path; from edge_agent.statedir import StateLock;"
        f"StateLock(Path({str(tmp_path)!r})).acquire(); os.kill(os.getpid(), signal.SIGKILL)"
    )
    subprocess.run([sys.executable, "-c", code], check=False, timeout=30)
    lock = StateLock(tmp_path)
    lock.acquire()  # the kernel released it with the process
    lock.release()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "zeroed-pages"])
def test_a_damaged_buffer_is_moved_aside_and_a_fresh_one_opened(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "buffer.db"
    buffer = DiskBuffer(path, ["s"], max_disk=10**9)
    for _ in range(50):
        buffer.append(lines(200))
    buffer._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    buffer._db.close()  # as after a crash: no clean close
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"this is not a database" * 100)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 3])
    else:
        path.write_bytes(data[:8192] + b"\0" * (len(data) - 8192))

    fresh = open_buffer(lambda: DiskBuffer(path, ["s"], max_disk=10**9), path)
    assert fresh.stats().points == 0
    fresh.append(lines(1))
    assert fresh.stats().points == 1
    moved = [p.name for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert moved and all(name.startswith("buffer.db.damaged-") for name in moved)


def test_a_sound_buffer_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "buffer.db"
    DiskBuffer(path, ["s"], max_disk=10**9).append(lines(3))
    reopened = open_buffer(lambda: DiskBuffer(path, ["s"], max_disk=10**9), path)
    assert reopened.stats().points == 3
    assert not [p for p in tmp_path.iterdir() if ".damaged-" in p.name]


def test_a_buffer_that_cannot_be_written_at_start_is_left_alone(tmp_path: Path) -> None:
    """A full disk (here: a file-size limit, which SQLite meets as a write error) at start is not
    damage: moving the file aside would abandon an intact backlog."""
    path = tmp_path / "buffer.db"
    buffer = DiskBuffer(path, ["s"], max_disk=10**9)
    for _ in range(5):
        buffer.append(lines(2000))
    buffer._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    buffer._db.close()  # as after a crash: the next start checks the file and writes at once
    code = (
        "import resource, signal; from pathlib import Path;"
        "from edge_agent.buffer import DiskBuffer; from edge_agent.statedir import open_buffer;"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024));"
        f"path = Path({str(path)!r});"
        "open_buffer(lambda: DiskBuffer(path, ['s'], 10**9), path)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "StateDirError: cannot open the buffer" in result.stderr
    assert "disk I/O error" in result.stderr and "the buffer is left as it is" in result.stderr
    assert not [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    reopened = open_buffer(lambda: DiskBuffer(path, ["s"], max_disk=10**9), path)  # the disk has room again
    assert reopened.stats().points == 10_000


def test_a_state_dir_that_cannot_be_made_stops_the_start_with_a_clear_reason(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("")
    with pytest.raises(
        StateDirError,
        match=r"the state directory .*not-a-dir/state cannot be used: "
        r"Not a directory; check agent.state_dir",
    ):
        StateLock(tmp_path / "not-a-dir" / "state").acquire()
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nschool = "sh-031"\nstate_dir = "{tmp_path / "not-a-dir" / "state"}"\n'
        '[health]\nlisten = ""\n[log]\nformat = "json"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "edge_agent", "run", "--allow-root", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert '"event": "cannot start"' in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
