"""The console as a real process, read over HTTP, and a Chromium that shows its pages."""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.ports import LOOPBACK, free_port
from tests.support.server import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: The flags that work on these machines (FIELD-NOTES): nothing reaches out on its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


class Console(ServerProcess):
    """``campus-ops console`` on a free loopback port."""

    name = "campus-ops console"

    def __init__(self, workdir: Path, store: str, *args: str) -> None:
        super().__init__()
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.args = ["--store", store, "--listen", f"{LOOPBACK}:{self.port}", *args]
        self.log = workdir / f"console-{self.port}.log"
        self.headers: dict[str, str] = {}

    def start(self, timeout: float = 20.0) -> None:
        """Start and wait until it answers /healthz."""
        self.launch(
            [sys.executable, "-m", "campus_ops", "console", *self.args],
            self.log,
            self._answers,
            see=self.log,
            timeout=timeout,
        )

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except urllib.error.HTTPError as exc:
            return exc.code == 401  # it answers, and asks for a credential
        except OSError:
            return False

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        """``(status, headers, body)`` of a GET (an error status is an answer, not an exception)."""
        request = urllib.request.Request(f"{self.url}{path}", headers={**self.headers, **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode("utf-8")

    def json(self, path: str, headers: dict[str, str] | None = None) -> Any:
        """The JSON of a GET that must answer 200."""
        status, _, body = self.get(path, headers)
        assert status == 200, (status, body[:500])
        return json.loads(body)


def browser() -> Iterator[Any]:
    """Debian's Chromium driven by its chromedriver (nothing downloaded), logging every request."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="console-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            yield driver
        finally:
            driver.quit()
