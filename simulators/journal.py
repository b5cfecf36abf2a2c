"""Journal of served reads, one JSON object per line.

Integration tests compare what the agent stored with what the simulator
actually served; this journal is the simulator's side of that comparison.

Lines are buffered in memory and appended by a background task at least
every :data:`FLUSH_INTERVAL_S`, and once more on close, so the file can be
read while the simulator runs.  A reader may, rarely, see a last line that is
still being written; it should skip a trailing line that does not parse.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Final, TextIO

FLUSH_INTERVAL_S: Final = 0.1  # half the promised 0.2 s, leaving room for a busy loop


class Journal:
    """Append-only JSON-lines journal with periodic flushing."""

    def __init__(self, path: str | Path):
        """Open ``path`` for appending (created if missing)."""
        self.path = Path(path)
        self._file: TextIO | None = self.path.open("a", encoding="utf-8")
        self._pending: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def record(
        self,
        t_ms: int,
        device: str,
        table: str,
        address: int,
        values: list[int] | list[bool],
    ) -> None:
        """Queue one served read; cheap, no I/O happens here."""
        self._pending.append(
            json.dumps(
                {"t_ms": t_ms, "device": device, "table": table, "address": address, "values": values},
                separators=(",", ":"),
            )
            + "\n"
        )

    def flush(self) -> None:
        """Write queued lines to disk now."""
        if self._pending and self._file is not None:
            # one write of whole lines, so a reader never sees half of a line
            # unless it reads exactly while the OS copies the buffer.
            data, self._pending = "".join(self._pending), []
            self._file.write(data)
            self._file.flush()

    def start(self) -> None:
        """Start the periodic flusher on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush_forever())

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            self.flush()

    async def close(self) -> None:
        """Stop the flusher, write what is left and close the file."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
