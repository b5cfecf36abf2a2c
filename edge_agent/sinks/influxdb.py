"""The InfluxDB v2 write API sink (InfluxDB 2.x/3.x, VictoriaMetrics and others that speak it).

One POST to ``/api/v2/write`` per batch, on kept-alive connections of the agent's own
HTTP client (:mod:`campus_core.http`). The buffer already holds gzip-compressed line
protocol and the body is posted as it is, so nothing is decoded or compressed again.
influxdb-client did this job first and aiohttp after it; all either did here was this one
request, and their imports cost 14 MB and 10 MB of the campus's 90 MB budget
(bench/README.md).
"""

from __future__ import annotations

import asyncio
import gzip
import time
from email.utils import parsedate_to_datetime

import structlog

from campus_core.files import SecretError
from campus_core.http import ClosedEarly, HttpClient, HttpError
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
#: The longest answer read from the store (its answers are short texts; more is no store).
ERROR_BODY_BYTES = 4 * 2**20

log = structlog.get_logger("edge_agent.sinks.influxdb")


class InfluxDBSink:
    """Writes batches to ``/api/v2/write`` with millisecond precision."""

    def __init__(self, config: InfluxDBSinkConfig) -> None:
        self._config = config
        self._name = config.name
        self._client: HttpClient | None = None
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
        """Create the HTTP client; the token and TLS files are read now (off the loop), never logged.

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
                log.warning(
                    "TLS verification is OFF for this sink (insecure_skip_verify): anyone on "
                    "the path can read and change what is sent; for a lab only",
                    sink=self._name,
                    url=config.url,
                )
        self._client = HttpClient(
            config.url,
            timeout=config.timeout,
            headers=headers,
            ssl_context=ssl_context,
            connections=config.max_in_flight,
        )

    async def write(self, body: bytes, points: int) -> None:
        """POST the batch; raise a :class:`SinkError` subclass unless the store answered 2xx."""
        if self._client is None:
            await self.start()
        assert self._client is not None
        config = self._config
        if not config.gzip:
            body = gzip.decompress(body)
        try:
            response = await self._client.request(
                "POST", "/api/v2/write", params=self._params, body=body, max_body=ERROR_BODY_BYTES
            )
        except TimeoutError:
            raise SinkThrottled(
                self._name, f"{config.url} did not answer within {config.timeout:g}s"
            ) from None
        except OSError as exc:
            tls_problem = explain(exc)
            if tls_problem is not None:
                raise SinkError(self._name, f"{config.url}: {tls_problem}") from None
            raise SinkUnreachable(
                self._name, f"cannot reach {config.url}: {exc or type(exc).__name__}"
            ) from None
        except ClosedEarly:
            # TLS 1.3 refuses a client certificate after the handshake: the answer never comes.
            hint = (
                "; over TLS that is how a refused client certificate looks: check tls_cert and tls_key"
                if config.url.startswith("https:")
                else ""
            )
            raise SinkUnreachable(
                self._name, f"{config.url} closed the connection without an answer{hint}"
            ) from None
        except HttpError as exc:
            # What answered is not an HTTP server, or broke off mid-answer: a wrong port, a proxy.
            raise SinkError(self._name, f"{config.url} gave no proper HTTP answer: {exc}") from None
        status = response.status
        if 200 <= status < 300:
            return
        if 300 <= status < 400:
            # Often http:// answered by a redirect to https://. Not followed: the agent sends
            # its token and data only where the config says.
            where = response.headers.get("location", "(no Location)")
            raise SinkError(
                self._name,
                f"{config.url} answered {status}, a redirect to {where}: set url to where it points",
            )
        raise self._error(status, response.text() or response.reason, response.headers.get("retry-after"))

    async def close(self) -> None:
        """Close the HTTP client's connections."""
        if self._client is not None:
            await self._client.close()
            self._client = None

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
