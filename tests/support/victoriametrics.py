"""A real VictoriaMetrics server for tests: it speaks the InfluxDB v2 write API."""

from __future__ import annotations

import json
import shutil
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from .ports import LOOPBACK, free_port
from .server import ServerProcess

BINARY = "victoria-metrics"


class VictoriaMetrics(ServerProcess):
    """Starts, stops and queries one VictoriaMetrics process on a free loopback port."""

    name = BINARY

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        dedup: bool = False,
        tls: tuple[Path, Path] | None = None,
        flags: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        # More command-line flags, e.g. the ingest limit of a city store (-maxConcurrentInserts).
        self.flags = list(flags)
        self.data_dir = data_dir
        # HTTPS with (certificate, key): the store a TLS sink talks to.
        self.tls = ["-tls", f"-tlsCertFile={tls[0]}", f"-tlsKeyFile={tls[1]}"] if tls else []
        self.scheme = "https" if tls else "http"
        # Keeps the last of identical (series, timestamp) samples, as InfluxDB does.
        self.dedup = ["-dedup.minScrapeInterval=1ms"] if dedup else []
        self.port = port or free_port()
        self.url = f"{'https' if tls else 'http'}://{LOOPBACK}:{self.port}"
        self._log = data_dir.parent / f"victoria-metrics-{self.port}.log"

    def start(self, timeout: float = 15.0) -> None:
        """Start the server and wait until *this* process answers /health."""
        binary = shutil.which(BINARY) or f"/usr/bin/{BINARY}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.launch(
            [
                binary,
                f"-httpListenAddr={LOOPBACK}:{self.port}",
                f"-storageDataPath={self.data_dir}",
                "-search.latencyOffset=0s",
                "-loggerLevel=WARN",
                *self.dedup,
                *self.tls,
                *self.flags,
            ],
            self._log,
            self._healthy,
            see=self._log,
            timeout=timeout,
        )

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1, context=_trusting()) as response:
                return bool(response.read().strip() == b"OK")
        except OSError:
            return False

    def export(self, match: str) -> list[dict[str, Any]]:
        """Every series matching the selector, with values and millisecond timestamps."""
        self._get("/internal/force_flush")
        query = urllib.parse.urlencode({"match[]": match})
        body = self._get(f"/api/v1/export?{query}")
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def points(self, match: str) -> dict[tuple[str, frozenset[tuple[str, str]]], dict[int, float]]:
        """``{(metric name, labels): {timestamp_ms: value}}`` for every series matching."""
        out: dict[tuple[str, frozenset[tuple[str, str]]], dict[int, float]] = {}
        for series in self.export(match):
            labels = dict(series["metric"])
            name = labels.pop("__name__")
            values = out.setdefault((name, frozenset(labels.items())), {})
            values.update(zip(series["timestamps"], series["values"], strict=True))
        return out

    def _get(self, path: str) -> str:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10, context=_trusting()) as response:
            return str(response.read().decode("utf-8"))


def _trusting() -> ssl.SSLContext:
    """The test reads its own store; the agent's side is what verifies certificates."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
