"""What influxdb-client raises for each answer of a store, and the sink error the drain acts on.

Each case is a real request through influxdb-client's async client: to a scripted store for
the answers a real store will not give on demand, to a closed port, to a socket that hangs
up or speaks no HTTP. The drain's reaction to each kind is specified in test_forwarder.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from campus_core.sinks import (
    SinkAuthError,
    SinkError,
    SinkRejected,
    SinkThrottled,
    SinkTooLarge,
    SinkUnreachable,
)
from edge_agent import __version__
from edge_agent.sinks.influxdb import InfluxDBSink, classify
from edge_agent.sinks.influxdb_config import InfluxDBSink as SinkConfig
from tests.support.ports import LOOPBACK, free_port
from tests.support.stubstore import Answer, StubStore

BODY = gzip.compress(b"m,device=d v=1.0 1700000000000\n")


async def write_to(url: str, request_timeout: str = "2s") -> SinkError | None:
    sink = InfluxDBSink(SinkConfig(url=url, bucket="b", name="s", timeout=request_timeout))
    try:
        await sink.write(BODY, 1)
    except SinkError as exc:
        return exc
    finally:
        await sink.close()
    return None


#: Stands for an HTTP date a minute after the request (made when the test runs, not when collected).
IN_A_MINUTE = "in a minute"


@pytest.mark.parametrize(
    ("answer", "kind", "says"),
    [
        (Answer(401, '{"message": "unauthorized access"}'), SinkAuthError, "unauthorized access"),
        (Answer(403, "forbidden"), SinkAuthError, "check the token"),
        (Answer(413, "too big"), SinkTooLarge, "request too large"),
        (Answer(400, '{"code": "invalid", "message": "unable to parse line 1"}'), SinkRejected, "parse"),
        (Answer(422, "field type conflict"), SinkRejected, "field type conflict"),
        (Answer(429, "slow down", {"Retry-After": "7"}), SinkThrottled, "slow down"),
        (Answer(503, "overloaded", {"Retry-After": IN_A_MINUTE}), SinkThrottled, "overloaded"),
        (Answer(500, "internal error"), SinkError, "answered 500"),
        (
            Answer(307, "", {"Location": "https://store.example/api/v2/write"}),
            SinkError,
            "a redirect to https",
        ),
    ],
    ids=lambda value: str(value.status) if isinstance(value, Answer) else "",
)
async def test_each_answer_becomes_the_error_the_drain_acts_on(
    answer: Answer, kind: type[SinkError], says: str
) -> None:
    if answer.headers.get("Retry-After") == IN_A_MINUTE:
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
        answer = dataclasses.replace(answer, headers={"Retry-After": when})
    async with StubStore([answer]) as store:
        error = await write_to(store.url)
    assert type(error) is kind, error
    assert says in error.reason, error.reason
    assert store.url in error.reason  # which store said it
    if isinstance(error, SinkRejected):
        assert error.status == answer.status
    if answer.status == 429:
        assert error.retry_after == 7.0
    elif answer.status == 503:
        assert error.retry_after is not None and 50 < error.retry_after <= 60  # an HTTP date
    else:
        assert error.retry_after is None


async def test_a_2xx_is_success_and_the_request_is_what_the_store_expects() -> None:
    seen: dict[str, str] = {}

    async with StubStore([Answer(204)]) as store:
        store.on_headers = seen.update
        assert await write_to(store.url) is None
    assert store.accepted == ["m,device=d v=1.0 1700000000000"]  # sent as it was: one gzip, not two
    assert seen["Content-Encoding"] == "gzip"
    assert seen["User-Agent"].startswith("influxdb-client-python/")
    assert seen["User-Agent"].endswith(f" edge-agent/{__version__}")
    assert seen["query"] == "org=&bucket=b&precision=ms"


async def test_a_store_that_hangs_is_busy_and_one_that_is_down_unreachable() -> None:
    async with StubStore([Answer(204, delay=5)]) as store:
        error = await write_to(store.url, request_timeout="300ms")
    assert type(error) is SinkThrottled and "did not answer within 0.3s" in error.reason
    error = await write_to(f"http://{LOOPBACK}:{free_port()}")
    assert type(error) is SinkUnreachable and "cannot reach" in error.reason


@contextlib.asynccontextmanager
async def raw_server(respond: Callable[[socket.socket], None]) -> AsyncIterator[str]:
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen()
    listener.setblocking(False)
    loop = asyncio.get_running_loop()

    async def serve() -> None:
        while True:
            peer, _ = await loop.sock_accept(listener)
            await loop.sock_recv(peer, 65536)
            respond(peer)

    task = asyncio.create_task(serve())
    try:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"
    finally:
        task.cancel()
        listener.close()


async def test_a_peer_that_hangs_up_or_speaks_no_http_is_named() -> None:
    async with raw_server(lambda peer: peer.close()) as url:
        error = await write_to(url)
        assert type(error) is SinkUnreachable and "closed the connection without an answer" in error.reason

    def gibberish(peer: socket.socket) -> None:
        peer.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        peer.close()

    async with raw_server(gibberish) as url:
        error = await write_to(url)
        assert type(error) is SinkError and "gave no proper HTTP answer" in error.reason


def test_classify_reads_headers_in_any_case() -> None:
    error = classify("s", "http://x", 429, "busy", {"retry-after": "3"})
    assert type(error) is SinkThrottled and error.retry_after == 3.0
    error = classify("s", "http://x", 302, "", {"location": "https://x"})
    assert "a redirect to https://x" in error.reason


async def test_an_error_body_is_read_only_as_far_as_its_message() -> None:
    # A proxy's error page, or a broken store, may send megabytes with a 400: the sink reads the
    # first 64 KiB and drops the connection. This one announces 100 MB, sends 128 KiB and then
    # nothing: read whole, the write would wait out its timeout instead of being refused.
    held: list[socket.socket] = []

    def page(peer: socket.socket) -> None:
        head = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 100000000\r\n\r\n"
        peer.setblocking(True)
        peer.sendall(head + b"unable to parse line 1: " + b"x" * 128 * 1024)
        held.append(peer)

    async with raw_server(page) as url:
        error = await write_to(url, request_timeout="10s")
    for peer in held:
        peer.close()
    assert type(error) is SinkRejected and "unable to parse line 1" in error.reason
    assert len(error.reason) < 500


async def test_after_an_error_the_sink_writes_again() -> None:
    # The refused request's connection is not reused half-read: the next write goes through.
    async with StubStore([Answer(400, "unable to parse line 1: " + "x" * 200_000), Answer(204)]) as store:
        sink = InfluxDBSink(SinkConfig(url=store.url, bucket="b", name="s"))
        try:
            with pytest.raises(SinkRejected):
                await sink.write(BODY, 1)
            await sink.write(BODY, 1)
        finally:
            await sink.close()
    assert store.accepted == ["m,device=d v=1.0 1700000000000"]
