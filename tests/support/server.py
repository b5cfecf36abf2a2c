"""What the real servers the tests start have in common: launch, wait until it answers, stop."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class ServerProcess:
    """One server process: launched, waited on until *this* process answers, stopped with SIGTERM.

    Subclasses (VictoriaMetrics, Mosquitto, snmpd) write their own config and say how to
    ask whether the server answers; this holds the process and the waiting.
    """

    #: The server's name in errors.
    name = "server"
    #: How long a SIGTERM gets before SIGKILL.
    stop_wait = 15.0

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def launch(
        self,
        argv: list[str],
        output: Path | None,
        answers: Callable[[], bool],
        *,
        see: Path | str,
        timeout: float,
        interval: float = 0.05,
        env: dict[str, str] | None = None,
    ) -> None:
        """Start ``argv`` (stdout and stderr appended to ``output``, or dropped) and poll
        ``answers`` until it is true; a process that exits or never answers is an error that
        names ``see``, the file to read."""
        with (output or Path(os.devnull)).open("ab") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {see}")
            if answers():
                return
            time.sleep(interval)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout}s; see {see}")

    def stop(self) -> None:
        """SIGTERM and wait for it to exit (SIGKILL after :attr:`stop_wait`); its data stays on disk."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=self.stop_wait)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
