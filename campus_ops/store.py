"""The city store's PromQL HTTP API (VictoriaMetrics), read with a timeout on every request."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class StoreError(Exception):
    """The store did not answer usefully; the message names its URL and what happened."""


class Store:
    """Instant queries against ``url``'s ``/api/v1/query``."""

    def __init__(self, url: str, *, timeout: float = 10.0, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.token = token

    def query(self, promql: str) -> list[tuple[dict[str, str], float]]:
        """``[(labels, value)]`` of an instant vector; :class:`StoreError` on any failure."""
        return _vector(self.url, self._post("/api/v1/query", {"query": promql}))

    def export(self, match: str, start: float) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        """Every sample of the series ``match`` selects since ``start`` (unix seconds), with its time.

        VictoriaMetrics' ``/api/v1/export``: for events (one sample each) an instant query
        would keep only the last of a series.
        """
        body = self._post("/api/v1/export", {"match[]": match, "start": f"{start:.3f}"})
        series: list[tuple[dict[str, str], list[tuple[float, float]]]] = []
        try:
            for line in body.splitlines():
                if line.strip():
                    item = json.loads(line)
                    samples = zip(item["timestamps"], item["values"], strict=True)
                    series.append((dict(item["metric"]), [(t / 1000, float(v)) for t, v in samples]))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise StoreError(
                f"store {self.url} answered the export with something that is not "
                f"JSON lines of series (starts {body[:60]!r})"
            ) from None
        return series

    def _post(self, path: str, form: dict[str, str]) -> bytes:
        endpoint = f"{self.url}{path}"
        request = urllib.request.Request(
            endpoint,
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body: bytes = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace").strip()
            raise StoreError(f"store {self.url} answered {exc.code} to {endpoint}: {detail}") from None
        except TimeoutError:
            raise StoreError(f"store {self.url} did not answer within {self.timeout:g}s") from None
        except urllib.error.URLError as exc:
            reason: object = exc.reason
            if isinstance(exc.reason, TimeoutError):
                reason = f"no answer within {self.timeout:g}s"
            elif isinstance(exc.reason, OSError) and exc.reason.strerror:
                reason = exc.reason.strerror
            raise StoreError(f"store {self.url} cannot be reached: {reason}") from None
        except OSError as exc:
            raise StoreError(f"store {self.url} cannot be reached: {exc}") from None
        return body


def promql_string(value: str) -> str:
    """``value`` as a PromQL string literal: quotes and backslashes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _vector(url: str, body: bytes) -> list[tuple[dict[str, str], float]]:
    try:
        answer: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise StoreError(
            f"store {url} answered with something that is not JSON "
            f"(starts {body[:60]!r}); is this a PromQL API?"
        ) from None
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else None
        raise StoreError(f"store {url} refused the query: {error or str(answer)[:200]}")
    try:
        return [(dict(item["metric"]), float(item["value"][1])) for item in answer["data"]["result"]]
    except (KeyError, TypeError, ValueError, IndexError):
        raise StoreError(f"store {url} answered JSON that is not an instant vector") from None
