"""The agent's HTTP client against real servers: VictoriaMetrics, aiohttp's server (for the
framings a store may choose) and a raw socket server for what no server sends on purpose."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from campus_core.http import BodyTooLarge, ClosedEarly, HttpClient, HttpError
from tests.support.ports import LOOPBACK, free_port
from tests.support.victoriametrics import VictoriaMetrics


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    server = VictoriaMetrics(tmp_path / "vm")
    server.start()
    yield server
    server.stop()


class Site:
    """An aiohttp server whose handler the test sets; it notes the peer port of each request."""

    def __init__(self) -> None:
        self.handler: Callable[[web.Request], Awaitable[web.StreamResponse]] = self._no_content
        self.peers: list[int] = []
        self.url = ""

    async def _no_content(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.peers.append(peer[1] if peer else -1)
        return await self.handler(request)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    state = Site()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    # A short keep-alive: the server hangs up on idle connections while the client keeps them.
    runner = web.AppRunner(app, keepalive_timeout=0.3)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    state.url = f"http://{LOOPBACK}:{port}"
    yield state
    await runner.cleanup()


class RawServer:
    """A TCP server that answers every request with the bytes the test gives, then waits."""

    def __init__(self, answer: bytes, close: bool = True, hang: bool = False) -> None:
        self.answer, self.close, self.hang = answer, close, hang
        self.connections = 0
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://{LOOPBACK}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                if self.hang:
                    await asyncio.sleep(3600)
                writer.write(self.answer)
                await writer.drain()
                if self.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_a_post_reaches_victoriametrics_and_its_refusal_reads_as_text(store: VictoriaMetrics) -> None:
    client = HttpClient(store.url, timeout=10, headers={"Content-Encoding": "gzip"})
    try:
        body = gzip.compress(b"room,school=s1 temperature=21.5 %d\n" % (time.time() * 1000))
        answer = await client.request(
            "POST", "/api/v2/write", params={"bucket": "b", "precision": "ms"}, body=body
        )
        assert answer.status == 204
        bad = await client.request("POST", "/api/v2/write", params={"bucket": "b"}, body=b"not gzip")
        assert bad.status == 400 and "gzip" in bad.text()
    finally:
        await client.close()
    for _ in range(50):  # a new series is searchable after VictoriaMetrics registers it
        found = store.export('{__name__="room_temperature"}')
        if found:
            break
        await asyncio.sleep(0.1)
    [series] = found
    assert series["values"] == [21.5] and series["metric"]["school"] == "s1"


async def test_requests_reuse_one_kept_alive_connection(site: Site) -> None:
    client = HttpClient(site.url, timeout=5)
    for _ in range(3):
        assert (await client.request("POST", "/w", body=b"x")).status == 204
    await client.close()
    assert len(site.peers) == 3 and len(set(site.peers)) == 1


async def test_a_connection_the_server_hung_up_on_is_not_the_requests_problem(site: Site) -> None:
    client = HttpClient(site.url, timeout=5)
    assert (await client.request("POST", "/w", body=b"x")).status == 204
    await asyncio.sleep(0.8)  # the server's keep-alive (0.3 s) ends: it closes the idle connection
    assert (await client.request("POST", "/w", body=b"x")).status == 204
    await client.close()
    assert len(set(site.peers)) == 2


async def test_a_chunked_answer_is_read_whole(site: Site) -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b"one ", b"two ", b"three"):
            await response.write(part)
        await response.write_eof()
        return response

    site.handler = chunked
    client = HttpClient(site.url, timeout=5)
    answer = await client.request("GET", "/c")
    assert answer.body == b"one two three" and answer.headers["transfer-encoding"] == "chunked"
    assert (await client.request("GET", "/c")).body == b"one two three"
    await client.close()
    assert len(set(site.peers)) == 1


async def test_headers_params_and_the_url_path_arrive(site: Site) -> None:
    seen: dict[str, str] = {}

    async def echo(request: web.Request) -> web.StreamResponse:
        seen.update(
            path=request.path,
            query=json.dumps(dict(request.query)),
            token=request.headers["Authorization"],
            extra=request.headers.get("If-None-Match", ""),
            body=(await request.read()).decode(),
        )
        return web.Response(status=429, text="slow down", headers={"Retry-After": "7"})

    site.handler = echo
    client = HttpClient(f"{site.url}/influx/", timeout=5, headers={"Authorization": "Token t"})
    answer = await client.request(
        "POST",
        "/api/v2/write",
        params={"bucket": "a b", "org": "ü"},
        headers={"If-None-Match": '"v1"'},
        body=b"line",
    )
    await client.close()
    assert answer.status == 429 and answer.reason == "Too Many Requests"
    assert answer.headers["retry-after"] == "7"
    assert answer.text() == "slow down"
    assert seen == {
        "path": "/influx/api/v2/write",
        "query": json.dumps({"bucket": "a b", "org": "ü"}),
        "token": "Token t",
        "extra": '"v1"',
        "body": "line",
    }


async def test_an_answer_that_says_close_is_not_kept(site: Site) -> None:
    async def closing(request: web.Request) -> web.StreamResponse:
        return web.Response(status=200, text="bye", headers={"Connection": "close"})

    site.handler = closing
    client = HttpClient(site.url, timeout=5)
    assert (await client.request("GET", "/")).text() == "bye"
    assert (await client.request("GET", "/")).text() == "bye"
    await client.close()
    assert len(set(site.peers)) == 2


async def test_an_answer_without_length_is_read_to_the_end() -> None:
    async with RawServer(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it") as server:
        client = HttpClient(server.url, timeout=5)
        answer = await client.request("GET", "/")
        assert answer.body == b"all of it"
        assert (await client.request("GET", "/")).body == b"all of it"  # a new connection
        await client.close()
        assert server.connections == 2


async def test_an_unasked_100_continue_is_skipped() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    async with RawServer(answer, close=False) as server:
        client = HttpClient(server.url, timeout=5)
        assert (await client.request("POST", "/", body=b"x")).status == 204
        assert (await client.request("POST", "/", body=b"x")).status == 204
        await client.close()
        assert server.connections == 1


@pytest.mark.parametrize(
    ("answer", "error", "match"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n", HttpError, "not an HTTP/1.x answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", HttpError, "5 bytes before the body's end"),
        (b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n", HttpError, "malformed header"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HttpError, "malformed chunk size"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", BodyTooLarge, "2000 bytes"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 9000 + b"\r\n\r\n", HttpError, "longer than 8192"),
        (b"", ClosedEarly, "closed before an answer"),
    ],
)
async def test_what_is_not_http_is_a_clear_error(answer: bytes, error: type[Exception], match: str) -> None:
    async with RawServer(answer) as server:
        client = HttpClient(server.url, timeout=5)
        with pytest.raises(error, match=match):
            await client.request("GET", "/", max_body=1000)
        await client.close()


async def test_a_server_that_hangs_meets_the_timeout_and_its_connection_is_dropped() -> None:
    async with RawServer(b"HTTP/1.1 204 No Content\r\n\r\n", close=False, hang=True) as server:
        client = HttpClient(server.url, timeout=0.3)
        with pytest.raises(TimeoutError):
            await client.request("POST", "/", body=b"x")
        server.hang = False
        assert (await client.request("POST", "/", body=b"x")).status == 204
        await client.close()
        assert server.connections == 2  # the half-read connection was never reused


async def test_at_most_the_given_connections_are_open_at_once(site: Site) -> None:
    active = peak = 0

    async def slow(request: web.Request) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.05)
        active -= 1
        return web.Response(status=204)

    site.handler = slow
    client = HttpClient(site.url, timeout=10, connections=2)
    answers = await asyncio.gather(*(client.request("POST", "/", body=b"x") for _ in range(8)))
    await client.close()
    assert [a.status for a in answers] == [204] * 8
    assert peak == 2 and len(set(site.peers)) == 2


async def test_a_refused_connection_is_an_os_error() -> None:
    client = HttpClient(f"http://{LOOPBACK}:{free_port()}", timeout=5)
    with pytest.raises(ConnectionRefusedError):
        await client.request("GET", "/")


def test_only_http_urls_are_taken() -> None:
    with pytest.raises(ValueError, match="not an http"):
        HttpClient("ftp://example.invalid/", timeout=1)


def test_a_header_cannot_forge_another() -> None:
    with pytest.raises(ValueError, match="line break"):
        HttpClient("http://127.0.0.1:1/", timeout=1, headers={"Authorization": "Token t\r\nX-Evil: 1"})
