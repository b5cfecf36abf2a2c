"""What the console reads: the store's PromQL API and vmalert's API, each with a timeout.

Every failure is a :class:`SourceError` that says which source, what kind of failure (so the
page can say it in the reader's language) and the source's own words; a failed query keeps
its PromQL so the panel can show it. One panel's failure never stops another: the page
builders catch these per panel (:mod:`.panels`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

#: unreachable: no connection; timeout: no answer in time; refused: the source answered the
#: query with an error of its own (a PromQL error); status: an HTTP error without one;
#: format: an answer that is not the API's JSON; absent: the console was not given the source.
ErrorKind = Literal["unreachable", "timeout", "refused", "status", "format", "absent"]
SourceName = Literal["store", "vmalert"]


class SourceError(Exception):
    """A source did not answer usefully."""

    def __init__(
        self, source: SourceName, url: str, kind: ErrorKind, message: str, query: str | None = None
    ) -> None:
        super().__init__(f"{source} {url}: {message}")
        self.source = source
        self.url = url
        self.kind = kind
        self.message = message
        self.query = query

    def as_json(self) -> dict[str, str | None]:
        """What a panel sends the page about it."""
        return {
            "source": self.source,
            "url": self.url,
            "kind": self.kind,
            "message": self.message,
            "query": self.query,
        }


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector: its labels, its value."""

    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and ``[(unix seconds, value)]``."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


class _Http:
    """GETs of JSON with a deadline, turning every failure into a :class:`SourceError`."""

    source: SourceName = "store"

    def __init__(self, session: aiohttp.ClientSession, url: str, timeout: float, token: str | None) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def _get(self, path: str, params: dict[str, str], query: str | None = None) -> Any:
        def fail(kind: ErrorKind, message: str) -> SourceError:
            return SourceError(self.source, self.url, kind, message, query)

        try:
            async with asyncio.timeout(self.timeout):
                async with self.session.get(
                    f"{self.url}{path}", params=params, headers=self.headers, allow_redirects=False
                ) as response:
                    body = await response.read()
                    status = response.status
        except TimeoutError:
            raise fail("timeout", f"no answer within {self.timeout:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            raise fail("unreachable", f"cannot connect: {exc.os_error.strerror or exc}") from None
        except aiohttp.ClientError as exc:
            raise fail("unreachable", f"the connection failed: {exc or type(exc).__name__}") from None
        try:
            answer = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            if status >= 400:
                text = body[:300].decode("utf-8", "replace").strip()
                raise fail("status", f"HTTP {status}: {text}") from None
            raise fail("format", f"the answer is not JSON (it starts {body[:60]!r})") from None
        if isinstance(answer, dict) and answer.get("status") == "error":
            # The store's own words: a PromQL error, a limit it enforces.
            raise fail("refused", str(answer.get("error") or answer.get("errorType") or answer))
        if status >= 400:
            raise fail("status", f"HTTP {status}: {str(answer)[:300]}")
        if not isinstance(answer, dict) or answer.get("status") != "success" or "data" not in answer:
            raise fail("format", f"the answer is not this API's JSON: {str(answer)[:200]}")
        return answer["data"]


class PromQL(_Http):
    """The store's PromQL API (VictoriaMetrics): instant and range queries."""

    source: SourceName = "store"

    async def instant(self, query: str) -> list[Sample]:
        """An instant vector now."""
        data = await self._get("/api/v1/query", {"query": query}, query)
        try:
            if data["resultType"] == "scalar":
                return [Sample({}, float(data["result"][1]))]
            return [Sample(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]
        except (KeyError, TypeError, ValueError, IndexError):
            raise SourceError(self.source, self.url, "format", "not an instant vector", query) from None

    async def range(self, query: str, start: float, end: float, step: float) -> list[Series]:
        """A range query from ``start`` to ``end`` (unix seconds), one point every ``step`` seconds."""
        params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}s"}
        # VictoriaMetrics aligns a cached range to its step, so the newest minutes (up to a step)
        # would be missing from every chart; the pages ask for now. Other stores ignore it.
        params["nocache"] = "1"
        data = await self._get("/api/v1/query_range", params, query)
        try:
            return [
                Series(dict(item["metric"]), [(float(t), float(v)) for t, v in item["values"]])
                for item in data["result"]
            ]
        except (KeyError, TypeError, ValueError):
            raise SourceError(self.source, self.url, "format", "not a range vector", query) from None


class VMAlert(_Http):
    """vmalert's API: the alerts it holds (pending and firing)."""

    source: SourceName = "vmalert"

    async def alerts(self) -> list[dict[str, Any]]:
        """Every alert, as vmalert's ``/api/v1/alerts`` gives it (``expression`` included)."""
        data = await self._get("/api/v1/alerts", {})
        alerts = data.get("alerts") if isinstance(data, dict) else None
        # vmalert answers null rather than [] when it holds none.
        return [alert for alert in alerts or [] if isinstance(alert, dict)]


def absent_vmalert() -> SourceError:
    """What an alerts panel says when the console was started without ``--vmalert``."""
    return SourceError("vmalert", "", "absent", "the console was started without --vmalert URL")
