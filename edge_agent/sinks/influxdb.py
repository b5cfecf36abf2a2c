"""The InfluxDB v2 write API sink (InfluxDB 2.x/3.x, VictoriaMetrics and others that speak it).

One ``POST /api/v2/write`` per batch through influxdb-client's async client: its generated
``WriteService`` on ``InfluxDBClientAsync``'s API client, over aiohttp's kept-alive
connections. The buffer already holds gzip-compressed line protocol, so the body is posted
as it is with ``Content-Encoding: gzip`` and the client compresses nothing again. The
client's own batching (``WriteApi``) and retries stay unused: the buffer and the sink's
pacing (edge_agent/drain.py) own both.

What the store answers becomes one of :mod:`campus_core.sinks`' errors (:func:`classify`),
which the drain acts on. A redirect is not followed: the agent sends its token and its
data only where the config says.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import aiohttp
import structlog
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.rest import ApiException
from influxdb_client.service.write_service import WriteService

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
#: Of a store's answer, what is read: an error's message is in its first few hundred bytes,
#: and a proxy's error page (or a broken store) may send megabytes that would all sit in
#: memory at once. The rest is dropped with the connection.
ERROR_BODY_BYTES = 64 * 1024

log = structlog.get_logger("edge_agent.sinks.influxdb")


class InfluxDBSink:
    """Writes batches to ``/api/v2/write`` with millisecond precision."""

    def __init__(self, config: InfluxDBSinkConfig) -> None:
        self._config = config
        self._name = config.name
        self._client: InfluxDBClientAsync | None = None
        self._writes: WriteService | None = None
        self._pacing = Pacing(config.max_in_flight, config.max_rate)

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
        """Create the client; the token and TLS files are read now (off the loop), never logged.

        A file that cannot be read or used raises a :class:`SinkError` naming it: the
        drain retries, so fixing the file is enough.
        """
        config = self._config
        try:
            token = await asyncio.to_thread(config.resolve_token)
        except SecretError as exc:
            raise SinkError(self._name, str(exc)) from None
        context: ssl.SSLContext | None = None
        if config.url.startswith("https:"):
            try:
                context = await asyncio.to_thread(config.client_context)
            except TlsFileError as exc:
                raise SinkError(self._name, str(exc)) from None
            if config.insecure_skip_verify:
                log.warning(
                    "TLS verification is OFF for this sink (insecure_skip_verify): anyone on "
                    "the path can read and change what is sent; for a lab only",
                    sink=self._name,
                    url=config.url,
                )
        client = InfluxDBClientAsync(
            config.url,
            token=token or "",
            org=config.org,
            timeout=int(config.timeout * 1000),
            enable_gzip=False,  # the body is gzip already: posted as it is
            ssl_context=context,
            proxy=config.proxy,
            connection_pool_maxsize=config.max_in_flight,
            allow_redirects=False,
            # HTTPS_PROXY / HTTP_PROXY and NO_PROXY, when no proxy is configured.
            client_session_kwargs={"trust_env": True},
        )
        client.api_client.user_agent = f"{client.api_client.user_agent} edge-agent/{__version__}"
        self._client = client
        self._writes = WriteService(client.api_client)  # type: ignore[no-untyped-call]

    async def write(self, body: bytes, points: int) -> None:
        """POST the batch; raise a :class:`SinkError` subclass unless the store answered 2xx."""
        if self._writes is None:
            await self.start()
        assert self._writes is not None
        config = self._config
        try:
            # Unloaded: the answer's status is checked here, so an error body is read capped.
            response: aiohttp.ClientResponse = await self._writes.post_write_async(  # type: ignore[no-untyped-call]
                org=config.org,
                bucket=config.bucket,
                body=body if config.gzip else gzip.decompress(body),
                precision="ms",
                content_type="text/plain; charset=utf-8",
                _preload_content=False,
                **({"content_encoding": "gzip"} if config.gzip else {}),
            )
            try:
                # A store's 2xx has no body as a rule (204); either way the read is bounded.
                answer = await response.content.read(ERROR_BODY_BYTES)
                if not 200 <= response.status <= 299:
                    raise classify(self._name, config.url, response.status, _text(answer), response.headers)
            finally:
                if response.content.at_eof():
                    response.release()  # read whole: the connection goes back to the pool
                else:
                    response.close()  # more than was read: dropped, not drained
        except ApiException as exc:
            raise classify(self._name, config.url, exc.status or 0, _text(exc.body), exc.headers) from None
        except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            raise self._unanswered(exc) from None

    async def close(self) -> None:
        """Close the client's connections."""
        client, self._client, self._writes = self._client, None, None
        if client is not None:
            await client.close()  # type: ignore[no-untyped-call]

    def _unanswered(self, exc: BaseException) -> SinkError:
        """No answer from the store at all, in words that say where to look."""
        url, timeout = self._config.url, self._config.timeout
        if isinstance(exc, TimeoutError):
            return SinkThrottled(self._name, f"{url} did not answer within {timeout:g}s")
        if isinstance(exc, aiohttp.ClientProxyConnectionError):
            return SinkUnreachable(
                self._name, f"cannot reach the proxy for {url} ({exc.os_error}); check proxy"
            )
        if isinstance(exc, aiohttp.ClientHttpProxyError):
            return SinkError(self._name, f"the proxy refused to reach {url} ({exc.status} {exc.message})")
        tls_problem = explain(exc)
        if tls_problem is not None:
            return SinkError(self._name, f"{url}: {tls_problem}")
        if isinstance(exc, aiohttp.ServerDisconnectedError):
            # TLS 1.3 refuses a client certificate after the handshake: the answer never comes.
            hint = (
                "; over TLS that is how a refused client certificate looks: check tls_cert and tls_key"
                if url.startswith("https:")
                else ""
            )
            return SinkUnreachable(self._name, f"{url} closed the connection without an answer{hint}")
        if isinstance(exc, aiohttp.ClientConnectionError | OSError):
            return SinkUnreachable(self._name, f"cannot reach {url}: {exc or type(exc).__name__}")
        # What answered is not an HTTP server, or broke off mid-answer: a wrong port, a proxy.
        return SinkError(self._name, f"{url} gave no proper HTTP answer: {exc or type(exc).__name__}")


def classify(sink: str, url: str, status: int, body: str, headers: Mapping[str, str] | None) -> SinkError:
    """The sink's error for a store's answer that is not 2xx: what the drain does depends on it.

    401/403: the credentials (retried slowly); 413: too large (sent in halves); 400/422: the
    points themselves (dead letters); 429/503: busy (retried soon, fewer requests); a
    redirect: named, not followed; anything else: retried with backoff. ``Retry-After`` (in
    seconds or as a date) is carried along.
    """
    headers = headers or {}
    message = body.strip()[:MESSAGE_CHARS]
    where = f"{url} answered {status}"
    if 300 <= status < 400:
        # Often http:// answered by a redirect to https://.
        target = _header(headers, "Location") or "(no Location)"
        return SinkError(sink, f"{where}, a redirect to {target}: set url to where it points")
    if status in (401, 403):
        return SinkAuthError(sink, f"{where}: check the token or its permissions ({message})")
    if status == 413:
        return SinkTooLarge(sink, f"{where}: request too large")
    if status in (400, 422):
        return SinkRejected(sink, f"{where}: {message}", status)
    kind = SinkThrottled if status in (429, 503) else SinkError
    return kind(sink, f"{where}: {message}", retry_after(_header(headers, "Retry-After")))


def retry_after(value: str | None) -> float | None:
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


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # aiohttp's headers are case-insensitive already; a plain mapping (tests, other clients) is not.
    return headers.get(name) or next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def _text(body: object) -> str:
    if isinstance(body, bytes | bytearray):
        return bytes(body).decode("utf-8", "replace")
    return "" if body is None else str(body)
