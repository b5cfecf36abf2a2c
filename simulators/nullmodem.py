"""A null-modem cable between two pseudo-terminals: a real serial line without hardware.

``NullModem`` opens two pty pairs and copies bytes between their master ends, so what is
written to one slave end (``/dev/pts/N``) comes out of the other, like two serial ports
joined by a cable. A pymodbus RTU serial server opens one end, the agent the other; both
use the kernel's tty layer and pyserial exactly as with a USB RS-485 adapter (baud rate and
parity are accepted and ignored, as ptys do).

``socat pty,raw,echo=0 pty,raw,echo=0`` does the same; this keeps the tests free of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from pathlib import Path
from types import TracebackType

_CHUNK = 4096


class NullModem:
    """Two serial port paths joined back to back, while the running event loop copies bytes.

    ``links`` gives stable names to the ends (symlinks ``DIR/a`` and ``DIR/b``) when a
    folder is passed; otherwise use :attr:`a` and :attr:`b`, the ``/dev/pts/N`` paths.
    """

    def __init__(self, links: Path | None = None) -> None:
        self._links = links
        self._fds: list[int] = []
        self._masters: tuple[int, int] | None = None
        self.a = ""
        self.b = ""

    async def __aenter__(self) -> NullModem:
        self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Create both ends and start copying on the running loop."""
        loop = asyncio.get_running_loop()
        ends = []
        for _ in range(2):
            master, slave = os.openpty()
            # Raw from the start: no echo, no line editing, before any program opens the end.
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._fds += [master, slave]
            ends.append((master, os.ttyname(slave)))
        (master_a, self.a), (master_b, self.b) = ends
        self._masters = (master_a, master_b)
        if self._links is not None:
            self._links.mkdir(parents=True, exist_ok=True)
            for name, target in (("a", self.a), ("b", self.b)):
                link = self._links / name
                link.unlink(missing_ok=True)
                link.symlink_to(target)
            self.a, self.b = str(self._links / "a"), str(self._links / "b")
        loop.add_reader(master_a, self._copy, master_a, master_b)
        loop.add_reader(master_b, self._copy, master_b, master_a)

    def _copy(self, source: int, target: int) -> None:
        try:
            data = os.read(source, _CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            # EIO: nobody holds the other side of this pty open right now; nothing to copy.
            return
        with contextlib.suppress(BlockingIOError, OSError):
            # A full tty buffer loses bytes, as an overrun UART would; RTU frames are small.
            os.write(target, data)

    def close(self) -> None:
        """Stop copying and close every descriptor."""
        if self._masters is not None:
            loop = asyncio.get_running_loop()
            for master in self._masters:
                loop.remove_reader(master)
            self._masters = None
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
        if self._links is not None:
            for name in ("a", "b"):
                (self._links / name).unlink(missing_ok=True)
