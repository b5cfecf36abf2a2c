"""The InfluxDB v2 write API sink (InfluxDB 2.x/3.x, VictoriaMetrics and others that speak it).

It uses influxdb-client's generated write service rather than its ``WriteApi``: the buffer
already holds gzip-compressed line protocol, and posting those bytes as they are spares
decoding and recompressing every batch (the client's own gzip runs at level 9).
"""

from __future__ import annotations

import asyncio
import gzip
import time
from email.utils import parsedate_to_datetime
from typing import Any

import structlog
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.rest import ApiException
from influxdb_client.service.write_service import WriteService

from edge_agent.config.model import InfluxDBSink as InfluxDBSinkConfig
from edge_agent.config.tls import explain

from . import SinkAuthError, SinkError, SinkRejected, SinkTooLarge

log = structlog.get_logger("edge_agent.sinks.influxdb")


class InfluxDBSink:
    """Writes batches to ``/api/v2/write`` with millisecond precision."""

    def __init__(self, config: InfluxDBSinkConfig) -> None:
        assert config.name is not None
        self._config = config
        self._name = config.name
        self._client: InfluxDBClientAsync | None = None
        self._service: Any = None

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
    def url(self) -> str:
        """The store's URL, for messages."""
        return self._config.url

    async def start(self) -> None:
        """Create the HTTP client; the token is read from its file now, never logged."""
        config = self._config
        tls: dict[str, Any] = {}
        if config.url.startswith("https:"):
            tls["ssl_context"] = config.client_context()
            if config.insecure_skip_verify:
                log.warning("TLS verification is OFF for this sink (insecure_skip_verify): anyone on "
                            "the path can read and change what is sent; for a lab only",
                            sink=self._name, url=config.url)
        self._client = InfluxDBClientAsync(
            url=config.url,
            token=config.resolve_token() or "",
            org=config.org,
            timeout=int(config.timeout * 1000),
            enable_gzip=False,
            **tls,
        )
        self._service = WriteService(self._client.api_client)  # type: ignore[no-untyped-call]

    async def write(self, body: bytes, points: int) -> None:
        """POST the batch; raise a :class:`SinkError` subclass unless the store answered 2xx."""
        if self._service is None:
            await self.start()
        config = self._config
        kwargs: dict[str, Any] = {"precision": "ms", "content_type": "text/plain; charset=utf-8"}
        if config.gzip:
            kwargs["content_encoding"] = "gzip"
        else:
            body = gzip.decompress(body)
        try:
            async with asyncio.timeout(config.timeout + 1):
                await self._service.post_write_async(
                    org=config.org, bucket=config.bucket, body=body, **kwargs
                )
        except ApiException as exc:
            raise self._error(exc) from None
        except TimeoutError:
            raise SinkError(self._name, f"{config.url} did not answer within {config.timeout:g}s") from None
        except Exception as exc:  # aiohttp's client errors share no base with OSError
            tls_problem = explain(exc)
            if tls_problem is not None:
                raise SinkError(self._name, f"{config.url}: {tls_problem}") from None
            if isinstance(exc, OSError) or type(exc).__module__.startswith("aiohttp"):
                raise SinkError(self._name, f"cannot reach {config.url}: {exc}") from None
            raise

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]
            self._client = None
            self._service = None

    def _error(self, exc: ApiException) -> SinkError:
        status = int(exc.status or 0)
        message = _message(exc)
        where = f"{self._config.url} answered {status}"
        if status in (401, 403):
            return SinkAuthError(self._name, f"{where}: check the token or its permissions ({message})")
        if status == 413:
            return SinkTooLarge(self._name, f"{where}: request too large")
        if status in (400, 422):
            return SinkRejected(self._name, f"{where}: {message}", status)
        return SinkError(self._name, f"{where}: {message}", _retry_after(exc))


def _message(exc: ApiException) -> str:
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    text = str(body or exc.reason or "").strip()
    return text[:300]


def _retry_after(exc: ApiException) -> float | None:
    headers: Any = exc.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
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
