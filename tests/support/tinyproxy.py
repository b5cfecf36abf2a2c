"""A real HTTP proxy for tests: Debian's tinyproxy on a free loopback port, logging every request."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from .ports import LOOPBACK, free_port
from .server import ServerProcess

BINARY = "tinyproxy"


class TinyProxy(ServerProcess):
    """One tinyproxy in the foreground; :meth:`requests` reads what it forwarded."""

    name = BINARY

    def __init__(self, workdir: Path) -> None:
        super().__init__()
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log = workdir / "tinyproxy.log"

    def start(self, timeout: float = 15.0) -> None:
        """Start it and wait until it accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "tinyproxy.conf"
        conf.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    f"Listen {LOOPBACK}",
                    f"Allow {LOOPBACK}",
                    "Timeout 30",
                    "MaxClients 50",
                    "LogLevel Info",
                    f'LogFile "{self.log}"',
                    f'PidFile "{self.workdir / "tinyproxy.pid"}"',
                ]
            )
            + "\n"
        )
        binary = shutil.which(BINARY) or f"/usr/bin/{BINARY}"
        output = self.workdir / "tinyproxy.out"
        self.launch([binary, "-d", "-c", str(conf)], output, self._listening, see=output, timeout=timeout)

    def _listening(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1):
                return True
        except OSError:
            return False

    def requests(self) -> list[str]:
        """The request lines it received, in order: ``POST http://...`` or ``CONNECT host:port``."""
        if not self.log.exists():
            return []
        marker = "): "
        return [
            line.split(marker, 1)[1].rsplit(" HTTP/", 1)[0]
            for line in self.log.read_text(errors="replace").splitlines()
            if "Request (file descriptor" in line and marker in line
        ]
