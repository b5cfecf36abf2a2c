"""SNMP requests to one device, over sockets shared by every device of the process.

SNMPv1 and v2c go through the driver's own codec (ber.py) and one UDP socket per event
loop and address family (transport.py), whatever the number of devices: decoding
answers is the agent's main CPU cost, and pysnmp/pyasn1 took ~70 ms of CPU per 48-port
switch poll where ber.py takes a few. SNMPv3 (USM auth and priv) goes through a pysnmp
engine (usm.py), imported only when a v3 session opens. Timeouts and retries are per
device, so a device that does not answer costs its own timeout and nobody else's.

The pool's first *engine* (slot) holds the community socket(s) and, once a v3 device
joins, the pysnmp engine. A second engine is made only when two devices use the same
SNMPv3 user name with different keys: USM keeps one key set per user name and engine.

Walk requests (GETBULK, GETNEXT) bring large answers, and decoding them is the agent's
main CPU cost. At most :data:`WALKS_IN_FLIGHT` of them are out per engine: when hundreds
of devices poll at once, answers then never wait in the socket (or overflow it) for
longer than a timeout, and a request's timeout starts only when it is sent. A device
whose last request timed out does not wait for a slot, so dead devices hold none. The
socket asks for a large receive buffer for the same reason: answers that arrive while
the agent decodes others must not be dropped by the kernel.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import ber
from .config import SnmpDevice
from .exchange import MIN_PASSPHRASE, Response, SnmpError, read_secret, timeout_reason
from .mibs import Oid
from .transport import RECEIVE_BUFFER, CommunityTransport, Peer, resolve

if TYPE_CHECKING:
    from .usm import UsmClient, UsmEngine

__all__ = [
    "MIN_PASSPHRASE",
    "POOL",
    "RECEIVE_BUFFER",
    "WALKS_IN_FLIGHT",
    "EnginePool",
    "Response",
    "Session",
    "SnmpError",
]

#: Walk requests out at once per engine (their answers are up to tens of kB each).
WALKS_IN_FLIGHT = 8

_PDUS = {"get": ber.GET, "getnext": ber.GET_NEXT, "getbulk": ber.GET_BULK}


@dataclass(eq=False)
class _Slot:
    """One engine: the community sockets, the pysnmp engine for v3, the walk limit they share."""

    users: dict[str, str] = field(default_factory=dict)
    refs: int = 0
    walks: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(WALKS_IN_FLIGHT))
    community: dict[int, CommunityTransport] = field(default_factory=dict)
    usm: UsmEngine | None = None
    _opening: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    async def community_transport(self, family: int, dropped: Counter[str]) -> CommunityTransport:
        """The socket of ``family``, opened by the first device that needs it."""
        async with self._opening:  # devices opening together must not make two sockets
            transport = self.community.get(family)
            if transport is None:
                transport = await CommunityTransport.open(family, dropped)
                self.community[family] = transport
            return transport

    def usm_engine(self) -> UsmEngine:
        """The pysnmp engine, made (and pysnmp imported) by the first SNMPv3 device."""
        if self.usm is None:
            from .usm import UsmEngine

            self.usm = UsmEngine()
        return self.usm

    def close(self) -> None:
        """Close every socket of the engine."""
        for transport in self.community.values():
            transport.close()
        self.community.clear()
        if self.usm is not None:
            self.usm.close()
            self.usm = None


class EnginePool:
    """The engines of this process, per event loop; each is closed when its last device leaves."""

    def __init__(self) -> None:
        self._slots: dict[asyncio.AbstractEventLoop, list[_Slot]] = {}
        #: Datagrams the community sockets dropped, by reason (see CommunityTransport.dropped).
        self.dropped: Counter[str] = Counter()

    def join(self, user: str | None = None, keys: str = "") -> _Slot:
        """The engine on which ``user`` (SNMPv3) has the key set digested in ``keys``; v1/v2c: the first."""
        slots = self._slots.setdefault(asyncio.get_running_loop(), [])
        for slot in slots:
            if user is None or slot.users.get(user, keys) == keys:
                break
        else:
            slot = _Slot()
            slots.append(slot)
        if user is not None:
            slot.users[user] = keys
        slot.refs += 1
        return slot

    def leave(self, slot: _Slot) -> None:
        """One device less on ``slot``; the last one closes its sockets."""
        for loop, slots in list(self._slots.items()):
            if slot in slots:
                slot.refs -= 1
                if slot.refs <= 0:
                    slots.remove(slot)
                    slot.close()
                if not slots:
                    del self._slots[loop]
                return

    def engines(self) -> int:
        """Open engines on the running loop.

        An engine is the set of devices that share sockets: one UDP socket per address family
        for SNMPv1/v2c and, once an SNMPv3 device joins, one pysnmp engine with sockets of its
        own; a v2c and v3 mix is one engine and two sockets or more. A second engine opens
        only where USM needs one (two users of one name with different keys).
        """
        return len(self._slots.get(asyncio.get_running_loop(), []))

    def in_flight(self) -> int:
        """SNMPv1/v2c requests waiting for an answer on the running loop."""
        return sum(
            transport.in_flight
            for slot in self._slots.get(asyncio.get_running_loop(), [])
            for transport in slot.community.values()
        )


#: The one pool of the process.
POOL = EnginePool()


class Session:
    """Requests to one device; :meth:`open` reads the secrets, :meth:`close` leaves the engine."""

    def __init__(self, config: SnmpDevice, pool: EnginePool = POOL) -> None:
        self._config = config
        self._pool = pool
        self._slot: _Slot | None = None
        self._walks = asyncio.Semaphore(WALKS_IN_FLIGHT)
        self._suspect = False
        self._peer: Peer | None = None
        self._community: CommunityTransport | None = None
        self._secret = b""
        self._version = ber.V1 if config.version == "1" else ber.V2C
        self._usm: UsmClient | None = None
        self.requests: Counter[str] = Counter()
        self.address = f"{config.host}:{config.port}"

    async def open(self) -> None:
        """Read the community or keys from their files, resolve the host, join the engine."""
        if self._slot is not None:
            return
        config = self._config
        user: Any = None
        digest = ""
        if config.version == "3":
            from .usm import user_keys  # pysnmp is loaded for SNMPv3 devices only

            user, digest = user_keys(config)
        else:
            self._secret = _community(config)
        peer = await self._resolve()
        slot = self._pool.join(config.user if config.version == "3" else None, digest)
        try:
            if config.version == "3":
                from .usm import UsmClient

                target = await UsmClient.target(config, peer)
                self._usm = UsmClient(config, user, target, slot.usm_engine())
            else:
                self._community = await slot.community_transport(peer.family, self._pool.dropped)
        except BaseException:
            self._pool.leave(slot)
            raise
        self._slot, self._walks, self._peer = slot, slot.walks, peer

    def close(self) -> None:
        """Leave the shared engine."""
        if self._slot is not None:
            self._pool.leave(self._slot)
            self._slot, self._community, self._usm = None, None, None

    async def get(self, oids: Sequence[Oid]) -> Response:
        """One GET of ``oids``."""
        return await self._request("get", oids)

    async def next(self, oids: Sequence[Oid]) -> Response:
        """One GETNEXT of ``oids``."""
        return await self._request("getnext", oids)

    async def bulk(self, oids: Sequence[Oid], max_repetitions: int) -> Response:
        """One GETBULK (non-repeaters 0) of ``oids``, up to ``max_repetitions`` rows each."""
        return await self._request("getbulk", oids, max_repetitions)

    async def _resolve(self) -> Peer:
        config = self._config
        try:
            return await resolve(config.host, config.port, config.timeout + 5)
        except OSError as exc:  # TimeoutError included
            raise SnmpError(
                f"cannot resolve {config.host!r}: {str(exc) or 'DNS timeout'}; "
                "check host (an IP address avoids DNS altogether)"
            ) from None

    async def _request(self, kind: str, oids: Sequence[Oid], repetitions: int = 0) -> Response:
        if self._slot is None:
            raise SnmpError("session is not open")
        if kind != "get" and not self._suspect:
            async with self._walks:
                return await self._send(kind, oids, repetitions)
        return await self._send(kind, oids, repetitions)

    async def _send(self, kind: str, oids: Sequence[Oid], repetitions: int) -> Response:
        self.requests[kind] += 1
        try:
            if self._usm is not None:
                response = await self._usm.request(kind, oids, repetitions)
            else:
                response = await self._community_request(kind, oids, repetitions)
        except SnmpError as exc:
            self._suspect = exc.timeout
            raise
        self._suspect = False
        return response

    async def _community_request(self, kind: str, oids: Sequence[Oid], repetitions: int) -> Response:
        config, transport, peer = self._config, self._community, self._peer
        if transport is None or peer is None:
            raise SnmpError("session is not open")
        try:
            message = await transport.request(
                peer,
                self._version,
                self._secret,
                _PDUS[kind],
                oids,
                repetitions,
                config.timeout,
                config.retries,
            )
        except TimeoutError:
            raise SnmpError(timeout_reason(config, self.address), timeout=True) from None
        except (ConnectionError, ber.BerError) as exc:  # a closed socket; an OID we cannot encode
            raise SnmpError(f"{kind} to {self.address} failed: {exc}") from None
        status = message.error_status
        return Response(ber.status_name(status) if status else None, message.error_index, message.varbinds)


def _community(config: SnmpDevice) -> bytes:
    if config.community_file is not None:
        community = read_secret(config.community_file, "community_file")
    elif config.community is not None:
        community = config.community.get_secret_value()
    else:
        community = "public"
    try:
        # Latin-1, as pysnmp sent it, so a community that worked before still matches.
        return community.encode("latin-1")
    except UnicodeEncodeError:
        return community.encode("utf-8")
