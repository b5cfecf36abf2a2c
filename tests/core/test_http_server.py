"""The agent's HTTP listener, asked by the standard library's client and by raw sockets."""

from __future__ import annotations

import asyncio
import http.client
from collections.abc import AsyncIterator

import pytest

from campus_core.http import HttpServer, Reply, Request
from campus_core.http import server as server_module
from tests.support.ports import LOOPBACK, free_port


async def hello(request: Request) -> Reply:
    return Reply(200, f"hello {request.query.get('who', 'you')}\n".encode(), {"Content-Type": "text/plain"})


async def streamed(request: Request) -> Reply:
    async def parts() -> AsyncIterator[bytes]:
        for n in range(3):
            yield f"part {n}\n".encode()
            await asyncio.sleep(0)

    return Reply(200, parts())


async def broken(request: Request) -> Reply:
    raise RuntimeError("a bug in a handler")


class Listener:
    def __init__(self, server: HttpServer, port: int, errors: list[BaseException]) -> None:
        self.server, self.port, self.errors = server, port, errors

    def get(
        self, *paths: str, method: str = "GET", version: int = 11
    ) -> list[tuple[int, dict[str, str], bytes]]:
        """Ask for ``paths`` in turn on one connection of http.client (blocking: run it in a thread)."""
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=5)
        if version == 10:
            connection._http_vsn, connection._http_vsn_str = 10, "HTTP/1.0"  # type: ignore[attr-defined]
        out = []
        try:
            for path in paths:
                connection.request(method, path)
                answer = connection.getresponse()
                out.append((answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()))
        finally:
            connection.close()
        return out

    async def raw(self, data: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(LOOPBACK, self.port)
        writer.write(data)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return answer


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    errors: list[BaseException] = []
    server = HttpServer(
        {"/hello": hello, "/stream": streamed, "/broken": broken},
        server_name="test/1",
        on_error=errors.append,
    )
    port = free_port()
    await server.start(LOOPBACK, port)
    yield Listener(server, port, errors)
    await server.stop()


async def test_routes_answer_on_one_kept_alive_connection(listener: Listener) -> None:
    answers = await asyncio.to_thread(listener.get, "/hello?who=technician", "/stream", "/nowhere", "/hello")
    assert [status for status, _, _ in answers] == [200, 200, 404, 200]
    assert answers[0][2] == b"hello technician\n" and answers[0][1]["content-type"] == "text/plain"
    assert answers[0][1]["server"] == "test/1"
    assert answers[1][2] == b"part 0\npart 1\npart 2\n" and answers[1][1]["transfer-encoding"] == "chunked"
    assert b"/hello, /stream" in answers[2][2]


async def test_head_has_headers_only_and_other_methods_are_refused(listener: Listener) -> None:
    [(status, headers, body)] = await asyncio.to_thread(listener.get, "/hello", method="HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == "10"
    [(status, headers, _)] = await asyncio.to_thread(listener.get, "/hello", method="DELETE")
    assert status == 405 and headers["allow"] == "GET, HEAD"


async def test_an_http_1_0_peer_gets_a_streamed_answer_ended_by_the_close(listener: Listener) -> None:
    answer = await listener.raw(b"GET /stream HTTP/1.0\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Connection: close" in head and b"chunked" not in head
    assert body == b"part 0\npart 1\npart 2\n"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET /hello HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"GET /hello HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n", b"400"),
        (b"POST /hello HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", b"413"),
    ],
)
async def test_a_broken_request_is_answered_and_its_connection_closed(
    listener: Listener, request_bytes: bytes, status: bytes
) -> None:
    answer = await listener.raw(request_bytes)
    assert answer.split(b" ")[1] == status and b"Connection: close" in answer
    assert (await asyncio.to_thread(listener.get, "/hello"))[0][0] == 200  # the listener serves on


async def test_a_handler_that_raises_is_a_500_and_the_error_is_reported(listener: Listener) -> None:
    [(status, _, _)] = await asyncio.to_thread(listener.get, "/broken")
    assert status == 500
    assert [str(e) for e in listener.errors] == ["a bug in a handler"]
    assert (await asyncio.to_thread(listener.get, "/hello"))[0][0] == 200


async def test_a_peer_too_slow_with_its_headers_is_dropped(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "HEAD_SECONDS", 0.2)
    reader, writer = await asyncio.open_connection(LOOPBACK, listener.port)
    writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_stop_closes_kept_alive_connections(listener: Listener) -> None:
    reader, writer = await asyncio.open_connection(LOOPBACK, listener.port)
    writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert (await reader.readuntil(b"hello you\n")).startswith(b"HTTP/1.1 200 OK")
    await asyncio.wait_for(listener.server.stop(), 5)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_a_taken_port_is_an_os_error(listener: Listener) -> None:
    other = HttpServer({}, server_name="test/2")
    with pytest.raises(OSError):
        await other.start(LOOPBACK, listener.port)
