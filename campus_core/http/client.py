"""An HTTP/1.1 client for one origin, with a few kept-alive connections.

The agent talks to two servers over HTTP: the store (a POST per batch) and the city's
bundle server (a GET now and then). Each gets one :class:`HttpClient`; each request has
a deadline from connect to the last byte, and a cancelled or failed request closes its
connection, so nothing half-read is ever reused.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from .wire import MAX_LINE, BodyTooLarge, ClosedEarly, Headers, HttpError, read_body, read_headers, read_start

__all__ = ["BodyTooLarge", "HttpClient", "HttpError", "Response"]

#: A kept-alive connection idle this long is closed rather than reused: servers close idle
#: connections after a while of their own (VictoriaMetrics after a minute), and a request
#: written into one that the server is closing would be lost to a race.
IDLE_SECONDS = 15.0

#: Errors of a reused connection that mean the server had already hung up on it.
_STALE = (ClosedEarly, ConnectionResetError, BrokenPipeError)


@dataclass(frozen=True)
class Response:
    """A complete answer: status, headers (names lower-cased) and the whole body."""

    status: int
    reason: str
    headers: Headers
    body: bytes

    def text(self) -> str:
        """The body as text, undecodable bytes replaced."""
        return self.body.decode("utf-8", errors="replace")


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float) -> bool:
        return (
            not self.reader.at_eof() and not self.writer.is_closing() and now - self.idle_since < IDLE_SECONDS
        )

    def close(self) -> None:
        self.writer.close()


class HttpClient:
    """Requests to the origin of ``url`` (its path is the prefix of every request's path).

    Each request has ``timeout`` seconds from its turn's wait to its answer's last byte.
    ``ssl_context`` is used for https:// (None: the system's CAs, verified); at most
    ``connections`` requests are in flight at once, the rest wait their turn.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        connections: int = 1,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http:// or https:// URL: {url!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._ssl = ssl_context if ssl_context is not None else ssl.create_default_context()
        self._prefix = parts.path.rstrip("/")
        fixed = {"Host": parts.netloc.rpartition("@")[2], **(headers or {})}
        self._fixed = _header_lines(fixed)
        self._timeout = timeout
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[_Connection] = []
        self._closed = False

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        max_body: int = 1 << 20,
    ) -> Response:
        """Send one request and read its whole answer within the client's timeout.

        Raises ``TimeoutError``, ``OSError`` (cannot connect, TLS refused, reset),
        :class:`HttpError` (not HTTP) or :class:`BodyTooLarge` (longer than ``max_body``).
        """
        target = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        extra = _header_lines(headers) if headers else ""
        head = (
            f"{method} {target} HTTP/1.1\r\n{self._fixed}{extra}Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        async with asyncio.timeout(self._timeout), self._slots:
            connection = self._reused()
            if connection is not None:
                try:
                    return await self._exchange(connection, head, body, method, max_body)
                except _STALE:
                    pass  # it hung up while idle; the request goes once more on a new connection
            connection = await self._connect()
            return await self._exchange(connection, head, body, method, max_body)

    async def close(self) -> None:
        """Close the idle connections; those in use close when their request ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _reused(self) -> _Connection | None:
        now = asyncio.get_running_loop().time()
        while self._idle:
            connection = self._idle.pop()
            if connection.usable(now):
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(
            self._host,
            self._port,
            ssl=self._ssl,
            server_hostname=self._host if self._ssl else None,
            limit=2 * MAX_LINE,
        )
        return _Connection(reader, writer)

    async def _exchange(
        self, connection: _Connection, head: bytes, body: bytes, method: str, max_body: int
    ) -> Response:
        keep = False
        try:
            connection.writer.write(head + body)  # one send: a copy costs less than a second segment
            await connection.writer.drain()
            while True:
                version, status, reason = _status_line(await read_start(connection.reader))
                headers = await read_headers(connection.reader)
                if not 100 <= status < 200:
                    break  # 1xx (100 Continue, unasked) come before the answer and say nothing
            bodyless = method == "HEAD" or status in (204, 304)
            closes = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            delimited = "content-length" in headers or "transfer-encoding" in headers
            content = (
                b""
                if bodyless
                else await read_body(connection.reader, headers, max_body, to_eof=not delimited)
            )
            keep = not closes and (bodyless or delimited)
            return Response(status, reason, headers, content)
        finally:
            if keep and not self._closed:
                connection.idle_since = asyncio.get_running_loop().time()
                self._idle.append(connection)
            else:
                connection.close()


def _status_line(line: str) -> tuple[str, int, str]:
    version, _, rest = line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise HttpError(f"not an HTTP/1.x answer: {line[:80]!r}")
    return version, int(code), reason


def _header_lines(headers: Mapping[str, str]) -> str:
    """``headers`` as lines of a request head; a line break in one would forge others."""
    for name, value in headers.items():
        if any(c in name or c in value for c in "\r\n\0") or ":" in name:
            raise ValueError(f"header {name!r} holds a line break, NUL or colon where none may be")
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items())
