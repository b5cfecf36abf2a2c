"""The UDP socket every SNMPv1/v2c device of an event loop shares, one per address family.

Each request gets a request-id that no other request in flight on the socket has, and
its own timer: it is resent (the same bytes, the same request-id) until ``retries`` are
spent, so a device that does not answer costs its own ``timeout x (retries + 1)`` and
delays nobody. An answer is taken only when its request-id, source address, version and
community are those of a request waiting for it. Anything else (bytes that are not a
Response, an answer to a request already answered or given up, one from the wrong
address or with the wrong community) is counted in ``dropped`` and dropped: a datagram
never raises into asyncio.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from . import ber
from .mibs import Oid

#: Receive buffer asked for the shared socket; the kernel caps it at net.core.rmem_max.
RECEIVE_BUFFER = 4 * 2**20
_MAX_REQUEST_ID = 2**31 - 1

SockAddr = tuple[Any, ...]
"""A socket address as the socket module gives it: (host, port) or (host, port, flow, scope)."""


@dataclass(frozen=True)
class Peer:
    """A resolved device address: the address family and the socket address to send to."""

    family: int
    sockaddr: SockAddr

    @property
    def key(self) -> tuple[str, int]:
        """(host, port) as the socket reports the source of a datagram."""
        return self.sockaddr[0], self.sockaddr[1]


@dataclass
class _Waiting:
    future: asyncio.Future[ber.Message]
    peer: tuple[str, int]
    version: int
    community: bytes


async def resolve(host: str, port: int, dns_wait: float) -> Peer:
    """The address of ``host``: an IP address at once, a name by DNS off the loop within ``dns_wait`` s.

    Raises OSError when the name has no address and TimeoutError when DNS does not answer.
    """
    try:
        ipaddress.ip_address(host)
        numeric = True
    except ValueError:
        numeric = False
    if numeric:
        # A numeric host never touches DNS, so this cannot block and needs no thread.
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_DGRAM, flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
        )
    else:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(dns_wait):
            # IPv4 for names, as with pysnmp before: a name's AAAA record does not change
            # which address an existing device entry polls.
            infos = await loop.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"no address for {host!r}")
    family, _, _, _, sockaddr = infos[0]
    return Peer(int(family), tuple(sockaddr))


class CommunityTransport(asyncio.DatagramProtocol):
    """One UDP socket for every SNMPv1/v2c request of a loop and an address family."""

    def __init__(self, family: int, dropped: Counter[str]) -> None:
        self.family = family
        #: Datagrams dropped, by reason: malformed, unexpected (no request waits for that
        #: request-id), mismatched (the request-id of another address, version or community);
        #: and socket_error, a send that failed (its request times out).
        self.dropped = dropped
        self._transport: asyncio.DatagramTransport | None = None
        self._waiting: dict[int, _Waiting] = {}
        # A random start makes an answer to an earlier run of the agent unlikely to match.
        self._next_id = random.randrange(1, _MAX_REQUEST_ID)

    @classmethod
    async def open(cls, family: int, dropped: Counter[str]) -> CommunityTransport:
        """A transport on a new socket with a large receive buffer."""
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            # Answers that arrive while the agent decodes others must not be dropped by the kernel.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.setblocking(False)
            # Unbound: the first send picks a local port on every interface, as a client does.
            protocol = cls(family, dropped)
            await asyncio.get_running_loop().create_datagram_endpoint(lambda: protocol, sock=sock)
        except BaseException:
            sock.close()
            raise
        return protocol

    @property
    def in_flight(self) -> int:
        """Requests waiting for their answer."""
        return len(self._waiting)

    def close(self) -> None:
        """Close the socket; requests still waiting fail with ConnectionError."""
        if self._transport is not None:
            self._transport.close()

    async def request(
        self,
        peer: Peer,
        version: int,
        community: bytes,
        pdu: int,
        oids: Sequence[Oid],
        max_repetitions: int,
        per_try: float,
        retries: int,
    ) -> ber.Message:
        """Send one request and wait ``per_try`` s for its answer, ``retries`` times more if none came.

        Raises TimeoutError when no try is answered, ConnectionError when the socket closed.
        """
        transport = self._transport
        if transport is None or transport.is_closing():
            raise ConnectionError("the SNMP socket is closed")
        request_id = self._new_request_id()
        data = ber.encode_request(version, community, pdu, request_id, oids, max_repetitions)
        future: asyncio.Future[ber.Message] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = _Waiting(future, peer.key, version, community)
        try:
            for _ in range(retries + 1):
                transport.sendto(data, peer.sockaddr)
                # wait() leaves the future alone on a timeout, so a late answer to an
                # earlier try is still taken while the next one is out.
                await asyncio.wait((future,), timeout=per_try)
                if future.done():
                    return future.result()
            raise TimeoutError
        finally:
            del self._waiting[request_id]
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # marks a failure seen when our caller was cancelled meanwhile

    def _new_request_id(self) -> int:
        request_id = self._next_id
        while request_id in self._waiting:
            request_id = request_id % _MAX_REQUEST_ID + 1
        self._next_id = request_id % _MAX_REQUEST_ID + 1
        return request_id

    # --- asyncio.DatagramProtocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the socket's transport."""
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: SockAddr) -> None:
        """Hand an answer to the request waiting for it; count and drop anything else."""
        try:
            message = ber.decode_response(data)
        except ber.BerError:
            self.dropped["malformed"] += 1
            return
        waiting = self._waiting.get(message.request_id)
        if waiting is None or waiting.future.done():
            self.dropped["unexpected"] += 1
        elif (
            waiting.peer != (addr[0], addr[1])
            or waiting.version != message.version
            or waiting.community != message.community
        ):
            self.dropped["mismatched"] += 1
        else:
            waiting.future.set_result(message)

    def error_received(self, exc: Exception) -> None:
        """A send failed or an ICMP error came back: the request it belongs to times out."""
        self.dropped["socket_error"] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail the requests still waiting: nothing will answer them on this socket."""
        for waiting in self._waiting.values():
            if not waiting.future.done():
                waiting.future.set_exception(ConnectionError("the SNMP socket closed"))
