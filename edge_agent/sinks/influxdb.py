"""The InfluxDB v2 write API sink (InfluxDB 2.x/3.x, VictoriaMetrics and others that speak it).

One POST to ``/api/v2/write`` per batch, through aiohttp. The buffer already holds
gzip-compressed line protocol and the body is posted as it is, so nothing is decoded or
compressed again. influxdb-client did this job before; all it did here was this one
request, and importing it cost 14 MB of the agent's 100 MB budget (bench/README.md).
"""

from __future__ import annotations

import asyncio
import gzip
import time
from email.utils import parsedate_to_datetime

import aiohttp
import structlog

from campus_core.files import SecretError
from campus_core.sinks import (
    Pacing,
    SinkAuthError,
    SinkError,
    SinkRejected,
    SinkThrottled,
    SinkTooLarge,
    SinkUnreachable,
)
from campus_core.tls import TlsFileError, explain
from edge_agent import __version__
from edge_agent.sinks.influxdb_config import InfluxDBSink as InfluxDBSinkConfig

#: Characters of a store's error body kept for the log.
MESSAGE_CHARS = 300

log = structlog.get_logger("edge_agent.sinks.influxdb")


class InfluxDBSink:
    """Writes batches to ``/api/v2/write`` with millisecond precision."""

    def __init__(self, config: InfluxDBSinkConfig) -> None:
        assert config.name is not None
        self._config = config
        self._name = config.name
        self._session: aiohttp.ClientSession | None = None
        self._endpoint = f"{config.url}/api/v2/write"
        self._pacing = Pacing(config.max_in_flight, config.max_rate)
        self._params = {"bucket": config.bucket, "precision": "ms"}
        if config.org:
            self._params["org"] = config.org

    @property
    def name(self) -> str:
        """The sink's name (its buffer cursor)."""
        return self._name

    @property
    def batch_points(self) -> int:
        """Points per request at most."""
        return self._config.batch_points

    @property
    def retry_max(self) -> float:
        """The longest wait between retries."""
        return self._config.retry_max

    @property
    def pacing(self) -> Pacing:
        """``max_in_flight`` and ``max_rate`` from the config."""
        return self._pacing

    @property
    def url(self) -> str:
        """The store's URL, for messages."""
        return self._config.url

    async def start(self) -> None:
        """Create the HTTP session; the token and TLS files are read now (off the loop), never logged.

        A file that cannot be read or used raises a :class:`SinkError` naming it: the
        forwarder retries, so fixing the file is enough.
        """
        config = self._config
        headers = {"Content-Type": "text/plain; charset=utf-8", "User-Agent": f"edge-agent/{__version__}"}
        try:
            token = await asyncio.to_thread(config.resolve_token)
        except SecretError as exc:
            raise SinkError(self._name, str(exc)) from None
        if token:
            headers["Authorization"] = f"Token {token}"
        if config.gzip:
            headers["Content-Encoding"] = "gzip"
        ssl_context = None
        if config.url.startswith("https:"):
            try:
                ssl_context = await asyncio.to_thread(config.client_context)
            except TlsFileError as exc:
                raise SinkError(self._name, str(exc)) from None
            if config.insecure_skip_verify:
                log.warning("TLS verification is OFF for this sink (insecure_skip_verify): anyone on "
                            "the path can read and change what is sent; for a lab only",
                            sink=self._name, url=config.url)
        self._session = aiohttp.ClientSession(
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=config.timeout),
            connector=aiohttp.TCPConnector(ssl=ssl_context if ssl_context is not None else True,
                                           limit=config.max_in_flight),
            # The store answers in plain text; nothing here needs cookies or redirects.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def write(self, body: bytes, points: int) -> None:
        """POST the batch; raise a :class:`SinkError` subclass unless the store answered 2xx."""
        if self._session is None:
            await self.start()
        assert self._session is not None
        config = self._config
        if not config.gzip:
            body = gzip.decompress(body)
        try:
            async with asyncio.timeout(config.timeout + 1):
                async with self._session.post(self._endpoint, params=self._params, data=body,
                                              allow_redirects=False) as response:
                    if 200 <= response.status < 300:
                        return
                    if 300 <= response.status < 400:
                        # Often http:// answered by a redirect to https://. Not followed: the
                        # agent sends its token and data only where the config says.
                        raise SinkError(self._name, f"{config.url} answered {response.status}, a redirect "
                                        f"to {response.headers.get('Location', '(no Location)')}: set url "
                                        "to where it points")
                    text = await response.text(errors="replace")
                    raise self._error(response.status, text or response.reason or "",
                                      response.headers.get("Retry-After"))
        except TimeoutError:
            raise SinkThrottled(self._name, f"{config.url} did not answer within {config.timeout:g}s") \
                from None
        except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, OSError) as exc:
            tls_problem = explain(exc)
            if tls_problem is not None:
                raise SinkError(self._name, f"{config.url}: {tls_problem}") from None
            raise SinkUnreachable(self._name, f"cannot reach {config.url}: {exc}") from None
        except aiohttp.ClientError as exc:
            tls_problem = explain(exc)
            raise SinkError(self._name, f"{config.url}: {tls_problem or exc}") from None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _error(self, status: int, body: str, retry_after: str | None) -> SinkError:
        message = body.strip()[:MESSAGE_CHARS]
        where = f"{self._config.url} answered {status}"
        if status in (401, 403):
            return SinkAuthError(self._name, f"{where}: check the token or its permissions ({message})")
        if status == 413:
            return SinkTooLarge(self._name, f"{where}: request too large")
        if status in (400, 422):
            return SinkRejected(self._name, f"{where}: {message}", status)
        kind = SinkThrottled if status in (429, 503) else SinkError
        return kind(self._name, f"{where}: {message}", _retry_after(retry_after))


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
