"""The keys of ``edge-agent demo``'s live view: stop and start one simulated device.

"Stop a device and watch DeviceDown" is what a newcomer wants to try. The simulators listen
on :data:`CONTROL_PORT` (``simulators/control.py``); a key runs the same documented command a
person could type, ``python -m simulators ctl stop machine-2``, and the view shows its answer.
"""

from __future__ import annotations

import asyncio
import os
import sys
import termios
import time
import tty
from typing import Any

#: `python -m simulators ctl stop|start NAME` talks to the demo's simulators here.
CONTROL_PORT = 15019
#: The device a person stops and starts from the view (key s), to watch it go down.
STOPPABLE = "machine-2"


class Keys:
    """What a person presses in the view, when it runs in a terminal: ``s`` stops or starts
    :data:`STOPPABLE` (through the simulators' control port, as ``python -m simulators ctl``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, port: int = CONTROL_PORT) -> None:
        self.loop = loop
        self.port = port
        self.pressed: asyncio.Queue[str] = asyncio.Queue()
        self._saved: list[Any] | None = None
        #: What the view says about the stoppable device, once a key was pressed.
        self.said = ""
        self.stopped = False

    def listen(self) -> None:
        """Read single keys from the terminal (none when stdin is not one)."""
        if not sys.stdin.isatty():
            return
        fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)  # keys arrive one at a time and are not echoed
        self.loop.add_reader(fd, lambda: self.pressed.put_nowait(os.read(fd, 1).decode(errors="replace")))

    def close(self) -> None:
        """Give the terminal back as it was."""
        if self._saved is not None:
            fd = sys.stdin.fileno()
            self.loop.remove_reader(fd)
            termios.tcsetattr(fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    async def serve(self) -> None:
        """Act on each key: ``s`` toggles the stoppable device."""
        while True:
            if (await self.pressed.get()).lower() != "s":
                continue
            verb = "start" if self.stopped else "stop"
            command = ["-m", "simulators", "ctl", verb, STOPPABLE, "--port", str(self.port)]
            ctl = await asyncio.create_subprocess_exec(
                sys.executable, *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
            )
            try:
                async with asyncio.timeout(20):
                    answer = (await ctl.communicate())[0].decode(errors="replace").strip()
            except TimeoutError:
                ctl.kill()
                answer = "the simulators did not answer"
            if ctl.returncode == 0:
                self.stopped = verb == "stop"
            self.said = f"{time.strftime('%H:%M:%S')} {answer}"
