"""HTTP/1.1 framing shared by the client and the server: a message's head and its body."""

from __future__ import annotations

import asyncio

#: The longest start, header or chunk-size line accepted, in bytes.
MAX_LINE = 8192
#: The most header lines one message may carry.
MAX_HEADERS = 100


class HttpError(Exception):
    """The peer broke HTTP's framing, closed the connection mid-message, or sent too much."""


class ClosedEarly(HttpError):
    """The connection ended before the first byte of a message: a kept-alive peer hung up."""


class BodyTooLarge(HttpError):
    """A body is longer than the reader's limit; nothing of it is kept."""


Headers = dict[str, str]


async def read_head(reader: asyncio.StreamReader) -> tuple[str, Headers]:
    """A message's start line and its headers (names lower-cased, repeats joined by ", ").

    Raises :class:`ClosedEarly` when the stream ends before the start line began.
    """
    start = await read_start(reader)
    return start, await read_headers(reader)


async def read_start(reader: asyncio.StreamReader) -> str:
    """A message's start line; :class:`ClosedEarly` when the stream ends before it began."""
    return await _line(reader, first=True)


async def read_headers(reader: asyncio.StreamReader) -> Headers:
    """The header lines after a start line, up to the blank line that ends them."""
    headers: Headers = {}
    for _ in range(MAX_HEADERS + 1):
        line = await _line(reader)
        if not line:
            return headers
        name, sep, value = line.partition(":")
        name = name.lower()
        if not sep or not name or name != name.strip():
            raise HttpError(f"malformed header line {line[:80]!r}")
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    raise HttpError(f"more than {MAX_HEADERS} header lines")


async def read_body(reader: asyncio.StreamReader, headers: Headers, limit: int, *, to_eof: bool) -> bytes:
    """The body that follows ``headers``: chunked, Content-Length or (``to_eof``) up to the end.

    A body longer than ``limit`` raises :class:`BodyTooLarge` as soon as that is known.
    """
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _chunked(reader, limit)
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HttpError(f"malformed Content-Length {length[:40]!r}")
        size = int(length)
        if size > limit:
            raise BodyTooLarge(f"a body of {size} bytes (more than {limit})")
        return await _exactly(reader, size)
    if not to_eof:
        return b""
    body = await reader.read(limit + 1)
    while body and len(body) <= limit:
        more = await reader.read(limit + 1 - len(body))
        if not more:
            break
        body += more
    if len(body) > limit:
        raise BodyTooLarge(f"a body of more than {limit} bytes")
    return body


def chunk(data: bytes) -> bytes:
    """``data`` framed as one chunk of a chunked body (empty data is the last chunk)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    body = bytearray()
    while True:
        size_line = (await _line(reader)).partition(";")[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise HttpError(f"malformed chunk size {size_line[:40]!r}") from None
        if size == 0:
            while await _line(reader):  # trailers: read and dropped
                pass
            return bytes(body)
        if len(body) + size > limit:
            raise BodyTooLarge(f"a chunked body of more than {limit} bytes")
        body += await _exactly(reader, size)
        if await _exactly(reader, 2) != b"\r\n":
            raise HttpError("a chunk does not end with CRLF")


async def _exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise HttpError(
            f"the connection closed {size - len(exc.partial)} bytes before the body's end"
        ) from None


async def _line(reader: asyncio.StreamReader, first: bool = False) -> str:
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if first and not exc.partial:
            raise ClosedEarly("the connection closed before an answer began") from None
        raise HttpError("the connection closed in the middle of a message's head") from None
    except asyncio.LimitOverrunError:
        raise HttpError(f"a line longer than {MAX_LINE} bytes") from None
    if len(raw) > MAX_LINE:
        raise HttpError(f"a line longer than {MAX_LINE} bytes")
    return raw.rstrip(b"\r\n").decode("latin-1")
