"""An HTTP/1.1 listener for a few GET routes, on the agent's loop.

Each connection is served by one task the server owns; requests on a connection are
answered in turn (keep-alive, as Prometheus scrapes). A peer that takes longer than
:data:`HEAD_SECONDS` over a request's headers, breaks the framing or sends a body gets an
error answer and its connection closed; a kept-alive connection idle for
:data:`IDLE_SECONDS` is closed. ``stop`` cancels every connection's task and waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl

from .wire import MAX_LINE, ClosedEarly, Headers, HttpError, chunk, read_headers, read_start

#: Seconds a peer has for a request's headers once its first line came.
HEAD_SECONDS = 10.0
#: Seconds a connection may wait for its (next) request's first line.
IDLE_SECONDS = 60.0
#: Seconds a slow reader has to take an answer before its connection is closed.
SEND_SECONDS = 30.0


@dataclass(frozen=True)
class Request:
    """A request's method, path, query parameters and headers (names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: Headers


@dataclass
class Reply:
    """An answer: bytes go with a Content-Length, an async iterator of bytes goes chunked."""

    status: int = 200
    body: bytes | AsyncIterator[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Awaitable[Reply]]


class HttpServer:
    """Answers GET and HEAD on ``routes`` (path -> handler); any other path is a 404.

    A handler that raises is answered 500 (if nothing was sent yet) and its connection
    closed; ``on_error`` hears of the exception.
    """

    def __init__(
        self,
        routes: Mapping[str, Handler],
        *,
        server_name: str,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._routes = dict(routes)
        self._name = server_name
        self._on_error = on_error
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> None:
        """Listen; raises ``OSError`` when the address cannot be bound."""
        self._server = await asyncio.start_server(self._serve, host, port, limit=2 * MAX_LINE)

    async def stop(self) -> None:
        """Stop listening and close every connection, mid-answer or idle."""
        if self._server is None:
            return
        self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while await self._answer_one(reader, writer):
                pass
        except (ConnectionError, TimeoutError):
            pass  # the peer left, or would not take the answer in time
        except Exception as exc:  # a handler's bug: this connection ends, the listener stays
            if self._on_error is not None:
                self._on_error(exc)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _answer_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request and answer it; False when the connection is to close."""
        try:
            async with asyncio.timeout(IDLE_SECONDS):
                start = await read_start(reader)
            async with asyncio.timeout(HEAD_SECONDS):
                headers = await read_headers(reader)
        except (ClosedEarly, TimeoutError):
            return False
        except HttpError as exc:
            await self._send(writer, "HTTP/1.1", "GET", Reply(400, f"{exc}\n".encode()), close=True)
            return False
        method, _, rest = start.partition(" ")
        target, _, version = rest.partition(" ")
        if not version.startswith("HTTP/1."):
            await self._send(writer, "HTTP/1.1", "GET", Reply(400, b"not an HTTP/1.x request\n"), close=True)
            return False
        connection = headers.get("connection", "").lower()
        close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
        if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
            # No route takes a body; reading one only to find the next request is not worth it.
            await self._send(writer, version, method, Reply(413, b"these routes take no body\n"), close=True)
            return False
        path, _, query = target.partition("?")
        handler = self._routes.get(path)
        if method not in ("GET", "HEAD"):
            reply = Reply(405, b"only GET and HEAD\n", {"Allow": "GET, HEAD"})
        elif handler is None:
            reply = Reply(404, f"no {path}; try {', '.join(self._routes)}\n".encode())
        else:
            try:
                reply = await handler(Request(method, path, dict(parse_qsl(query)), headers))
            except Exception as exc:
                if self._on_error is not None:
                    self._on_error(exc)
                await self._send(
                    writer, version, method, Reply(500, b"internal error; see the log\n"), close=True
                )
                return False
        return not await self._send(writer, version, method, reply, close=close)

    async def _send(
        self, writer: asyncio.StreamWriter, version: str, method: str, reply: Reply, *, close: bool
    ) -> bool:
        """Send ``reply``; True when the connection is to close after it."""
        status = HTTPStatus(reply.status)
        head = [f"HTTP/1.1 {status.value} {status.phrase}", f"Server: {self._name}"]
        head += [f"{name}: {value}" for name, value in reply.headers.items()]
        body = reply.body
        # An HTTP/1.0 peer knows no chunks: a streamed answer to it ends with the connection.
        chunked = not isinstance(body, bytes) and version != "HTTP/1.0"
        if isinstance(body, bytes):
            head.append(f"Content-Length: {len(body)}")
        elif chunked:
            head.append("Transfer-Encoding: chunked")
        else:
            close = True
        if close:
            head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        async with asyncio.timeout(SEND_SECONDS):
            if method == "HEAD":
                pass
            elif isinstance(body, bytes):
                writer.write(body)
            else:
                async for part in body:
                    if part:
                        writer.write(chunk(part) if chunked else part)
                        await writer.drain()
                if chunked:
                    writer.write(chunk(b""))
            await writer.drain()
        return close
