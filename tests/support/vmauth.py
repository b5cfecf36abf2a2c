"""A real vmauth (VictoriaMetrics' auth proxy) in front of a test store."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

from .ports import LOOPBACK, free_port
from .server import ServerProcess


class VMAuth(ServerProcess):
    """``vmauth -auth.config=FILE`` on a loopback port (a free one unless given).

    Stopped and started again it keeps its port, so the gateways behind it see the city's
    store come back where it was.
    """

    name = "vmauth"

    def __init__(self, config: Path, port: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.port = port or free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._log = config.parent / f"vmauth-{self.port}.log"

    def start(self, timeout: float = 15.0) -> None:
        """Start and wait until it answers (any HTTP status means it listens)."""
        binary = shutil.which("vmauth") or "/usr/bin/vmauth"
        self.launch(
            [
                binary,
                f"-auth.config={self.config}",
                f"-httpListenAddr={LOOPBACK}:{self.port}",
                "-loggerLevel=WARN",
            ],
            self._log,
            self._answers,
            see=self._log,
            timeout=timeout,
        )

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
