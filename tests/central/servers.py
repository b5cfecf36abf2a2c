"""vmalert as a real process beside a test VictoriaMetrics (vmauth is in tests.support.vmauth)."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.ports import LOOPBACK, free_port
from tests.support.server import ServerProcess
from tests.support.vmauth import VMAuth

__all__ = ["VMAlert", "VMAuth"]


class VMAlert(ServerProcess):
    """``vmalert`` evaluating rule files against a store, writing alert state back into it.

    There is no Alertmanager in the tests: notifications go to a port where nothing listens
    (vmalert logs the failure); alerts are read from its own API and from the store.
    """

    name = "vmalert"

    def __init__(self, rule_files: list[Path], store_url: str, workdir: Path) -> None:
        super().__init__()
        self.rule_files = rule_files
        self.store_url = store_url
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._log = workdir / f"vmalert-{self.port}.log"

    def start(self, timeout: float = 15.0) -> None:
        """Start and wait until its API answers."""
        binary = shutil.which("vmalert") or "/usr/bin/vmalert"
        self.launch(
            [
                binary,
                *(f"-rule={path}" for path in self.rule_files),
                f"-datasource.url={self.store_url}",
                f"-remoteWrite.url={self.store_url}",
                f"-notifier.url=http://{LOOPBACK}:{free_port()}",
                f"-httpListenAddr={LOOPBACK}:{self.port}",
                "-remoteWrite.flushInterval=500ms",
            ],
            self._log,
            self._answers,
            see=self._log,
            timeout=timeout,
        )

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts vmalert holds now (pending and firing), from ``/api/v1/alerts``."""
        with urllib.request.urlopen(f"{self.url}/api/v1/alerts", timeout=5) as response:
            answer = json.loads(response.read())
        alerts: list[dict[str, Any]] = answer["data"]["alerts"] or []  # null when there are none
        return alerts

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1):
                return True
        except OSError:
            return False
