"""SNMP requests to one device over an engine shared by every device of the process.

All SNMP devices share one pysnmp ``SnmpEngine``: one UDP socket, one timer, whatever the
number of devices. Timeouts and retries are per device (they live in its transport
target), so a device that does not answer costs its own timeout and nobody else's.

A second engine is made only when two devices use the same SNMPv3 user name with
different keys: USM keeps one key set per user name and engine, so they cannot share.

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
import hashlib
import ipaddress
import socket
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyasn1.type import univ  # type: ignore[import-untyped]
from pysnmp.carrier.asyncio.dgram import udp  # type: ignore[import-untyped]
from pysnmp.entity import config as engine_config  # type: ignore[import-untyped]
from pysnmp.error import PySnmpError  # type: ignore[import-untyped]
from pysnmp.hlapi.v3arch.asyncio import (  # type: ignore[import-untyped]
    USM_AUTH_HMAC96_MD5,
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC128_SHA224,
    USM_AUTH_HMAC192_SHA256,
    USM_AUTH_HMAC256_SHA384,
    USM_AUTH_HMAC384_SHA512,
    USM_PRIV_CBC56_DES,
    USM_PRIV_CFB128_AES,
    USM_PRIV_CFB192_AES,
    USM_PRIV_CFB192_AES_BLUMENTHAL,
    USM_PRIV_CFB256_AES,
    USM_PRIV_CFB256_AES_BLUMENTHAL,
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.proto import errind, rfc1902, rfc1905  # type: ignore[import-untyped]

from .config import SnmpDevice
from .convert import Raw, RawType
from .mibs import Oid

AUTH_PROTOCOLS = {
    "md5": USM_AUTH_HMAC96_MD5, "sha": USM_AUTH_HMAC96_SHA, "sha224": USM_AUTH_HMAC128_SHA224,
    "sha256": USM_AUTH_HMAC192_SHA256, "sha384": USM_AUTH_HMAC256_SHA384,
    "sha512": USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "des": USM_PRIV_CBC56_DES, "aes128": USM_PRIV_CFB128_AES,
    "aes192": USM_PRIV_CFB192_AES_BLUMENTHAL, "aes256": USM_PRIV_CFB256_AES_BLUMENTHAL,
    "aes192c": USM_PRIV_CFB192_AES, "aes256c": USM_PRIV_CFB256_AES,
}
#: USM passphrases shorter than this are refused by agents (RFC 3414, 11.2).
MIN_PASSPHRASE = 8
#: Walk requests out at once per engine (their answers are up to tens of kB each).
WALKS_IN_FLIGHT = 8
#: Receive buffer asked for the shared socket; the kernel caps it at net.core.rmem_max.
RECEIVE_BUFFER = 4 * 2**20

_TYPES: dict[type, RawType] = {
    rfc1902.Counter32: "counter32", rfc1902.Counter64: "counter64", rfc1902.Gauge32: "gauge",
    rfc1902.Unsigned32: "gauge", rfc1902.TimeTicks: "timeticks", rfc1902.Integer32: "integer",
    rfc1902.Integer: "integer", rfc1902.IpAddress: "ipaddress", rfc1902.OctetString: "octets",
    rfc1902.Bits: "octets", rfc1902.Opaque: "opaque", rfc1902.ObjectIdentifier: "oid",
    rfc1905.NoSuchObject: "nosuchobject", rfc1905.NoSuchInstance: "nosuchinstance",
    rfc1905.EndOfMibView: "endofmibview",
    # The decoder builds plain ASN.1 types for the "simple" syntaxes.
    univ.ObjectIdentifier: "oid", univ.Integer: "integer", univ.OctetString: "octets",
}


class SnmpError(Exception):
    """A request got no usable answer; the message says what to check."""

    def __init__(self, reason: str, timeout: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timeout = timeout


@dataclass
class Response:
    """An answer: its error status (None when fine), the 1-based index it names, the values."""

    status: str | None
    index: int
    varbinds: list[tuple[Oid, Raw]]


@dataclass
class _Slot:
    engine: SnmpEngine
    users: dict[str, str] = field(default_factory=dict)
    refs: int = 0
    walks: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(WALKS_IN_FLIGHT))


class EnginePool:
    """The engines of this process, per event loop; each is closed when its last device leaves."""

    def __init__(self) -> None:
        self._slots: dict[asyncio.AbstractEventLoop, list[_Slot]] = {}

    def acquire(self, user: str | None = None, keys: str = "") -> tuple[SnmpEngine, asyncio.Semaphore]:
        """An engine on which ``user`` (SNMPv3) has the key set digested in ``keys``."""
        slots = self._slots.setdefault(asyncio.get_running_loop(), [])
        for slot in slots:
            if user is None or slot.users.get(user, keys) == keys:
                break
        else:
            slot = _Slot(_new_engine())
            slots.append(slot)
        if user is not None:
            slot.users[user] = keys
        slot.refs += 1
        return slot.engine, slot.walks

    def release(self, engine: SnmpEngine) -> None:
        """One device less on ``engine``; the last one closes its socket."""
        for loop, slots in list(self._slots.items()):
            for slot in slots:
                if slot.engine is engine:
                    slot.refs -= 1
                    if slot.refs <= 0:
                        slots.remove(slot)
                        engine.close_dispatcher()
                    if not slots:
                        del self._slots[loop]
                    return

    def engines(self) -> int:
        """Open engines on the running loop (each is one UDP socket per address family)."""
        return len(self._slots.get(asyncio.get_running_loop(), []))


#: The one pool of the process.
POOL = EnginePool()


class Session:
    """Requests to one device; :meth:`open` reads the secrets, :meth:`close` leaves the engine."""

    def __init__(self, config: SnmpDevice, pool: EnginePool = POOL) -> None:
        self._config = config
        self._pool = pool
        self._engine: SnmpEngine | None = None
        self._walks = asyncio.Semaphore(WALKS_IN_FLIGHT)
        self._suspect = False
        self._auth: CommunityData | UsmUserData | None = None
        self._target: UdpTransportTarget | Udp6TransportTarget | None = None
        self._context = ContextData(contextName=config.context.encode())
        self.requests: Counter[str] = Counter()
        self.address = f"{config.host}:{config.port}"
        # Our own deadline bounds every request should the engine's timer ever stall.
        tries = config.retries + 1
        self._deadline = config.timeout * tries * (2 if config.version == "3" else 1) + 1.0

    async def open(self) -> None:
        """Read the community or keys from their files, join the engine, resolve the host."""
        if self._engine is not None:
            return
        config = self._config
        auth, user, digest = _credentials(config)
        address = (config.host, config.port)
        try:
            is_v6 = ipaddress.ip_address(config.host).version == 6
        except ValueError:
            is_v6 = False
        target_class = Udp6TransportTarget if is_v6 else UdpTransportTarget
        try:
            async with asyncio.timeout(config.timeout + 5):
                target = await target_class.create(address, timeout=config.timeout, retries=config.retries)
        except (PySnmpError, TimeoutError) as exc:
            raise SnmpError(f"cannot resolve {config.host!r}: {exc or 'DNS timeout'}; "
                            "check host (an IP address avoids DNS altogether)") from None
        self._auth, self._target = auth, target
        self._engine, self._walks = self._pool.acquire(user, digest)

    def close(self) -> None:
        """Leave the shared engine."""
        if self._engine is not None:
            self._pool.release(self._engine)
            self._engine = None

    async def get(self, oids: Sequence[Oid]) -> Response:
        """One GET of ``oids``."""
        return await self._request("get", oids)

    async def next(self, oids: Sequence[Oid]) -> Response:
        """One GETNEXT of ``oids``."""
        return await self._request("getnext", oids)

    async def bulk(self, oids: Sequence[Oid], max_repetitions: int) -> Response:
        """One GETBULK (non-repeaters 0) of ``oids``, up to ``max_repetitions`` rows each."""
        return await self._request("getbulk", oids, max_repetitions)

    async def _request(self, kind: str, oids: Sequence[Oid], repetitions: int = 0) -> Response:
        engine, auth, target = self._engine, self._auth, self._target
        if engine is None or auth is None or target is None:
            raise SnmpError("session is not open")
        varbinds = [ObjectType(ObjectIdentity(oid)) for oid in oids]
        if kind != "get" and not self._suspect:
            async with self._walks:
                return await self._send(kind, varbinds, repetitions)
        return await self._send(kind, varbinds, repetitions)

    async def _send(self, kind: str, varbinds: list[Any], repetitions: int) -> Response:
        engine, auth, target = self._engine, self._auth, self._target
        self.requests[kind] += 1
        result: tuple[Any, Any, Any, Any]
        try:
            async with asyncio.timeout(self._deadline):
                if kind == "get":
                    result = await get_cmd(engine, auth, target, self._context, *varbinds, lookupMib=False)
                elif kind == "getnext":
                    result = await next_cmd(engine, auth, target, self._context, *varbinds, lookupMib=False)
                else:
                    result = await bulk_cmd(engine, auth, target, self._context, 0, repetitions, *varbinds,
                                            lookupMib=False)
        except TimeoutError:
            self._suspect = True
            raise SnmpError(self._timeout_reason(), timeout=True) from None
        except Exception as exc:  # whatever the stack raises fails this poll, not the agent
            raise SnmpError(f"{kind} to {self.address} failed: {type(exc).__name__}: {exc}") from None
        indication, status, index, answer = result
        self._suspect = isinstance(indication, errind.RequestTimedOut)
        if indication:
            raise SnmpError(self._indication_reason(indication), timeout=self._suspect)
        return Response(str(status) if int(status) else None, int(index),
                        [(tuple(name), to_raw(value)) for name, value in answer])

    def _timeout_reason(self) -> str:
        config = self._config
        tries = f"{config.retries + 1} tr{'y' if config.retries == 0 else 'ies'} of {config.timeout:g}s"
        reason = f"no answer from {self.address} ({tries}): is the device up and reachable, is the port right"
        if config.version == "3":
            if config.security_level == "authPriv":
                return reason + ", is priv right? An agent drops requests it cannot decrypt (wrong priv " \
                    "key or protocol)"
            return reason + "?"
        return reason + ", is the community right? An agent ignores requests with a wrong community"

    def _indication_reason(self, indication: object) -> str:
        config = self._config
        user = f"SNMPv3 user {config.user!r}"
        if isinstance(indication, errind.RequestTimedOut):
            return self._timeout_reason()
        if isinstance(indication, errind.WrongDigest | errind.AuthenticationFailure):
            return (f"{self.address} rejects the authentication of {user}: wrong auth key or protocol "
                    f"(auth = {config.auth!r}; check auth_key_file)")
        if isinstance(indication, errind.UnknownUserName):
            return f"{self.address} does not know {user}: check user (or the agent's createUser)"
        if isinstance(indication, errind.UnsupportedSecurityLevel):
            return f"{self.address} does not allow {user} at {config.security_level}: check auth and priv"
        if isinstance(indication, errind.DecryptionError):
            return f"{self.address}: cannot decrypt the answer for {user}: wrong priv key or protocol"
        if isinstance(indication, errind.EncryptionError):
            return f"privacy {config.priv!r} is not available here (the cryptography package is missing)"
        if isinstance(indication, errind.NotInTimeWindow | errind.UnknownEngineID):
            return f"{self.address}: SNMPv3 engine discovery failed ({indication}); is it an SNMPv3 agent?"
        return f"{self.address}: {indication}"


def _new_engine() -> SnmpEngine:
    """An engine with its IPv4 socket made here, to give it a large receive buffer."""
    engine = SnmpEngine()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.setblocking(False)
        # Unbound, like the engine's own client socket: the first send picks a local port.
        transport = udp.UdpAsyncioTransport().open_server_mode(sock=sock)
        engine_config.add_transport(engine, udp.DOMAIN_NAME, transport)
    except BaseException:
        sock.close()
        raise
    return engine


def to_raw(value: Any) -> Raw:
    """A pysnmp value as a :class:`Raw` (type name and plain value)."""
    kind: RawType = "opaque"
    if type(value) in _TYPES:
        kind = _TYPES[type(value)]
    else:
        for base, name in _TYPES.items():
            if isinstance(value, base):
                kind = name
                break
    if kind in ("octets", "ipaddress", "opaque"):
        return Raw(kind, bytes(value.asOctets()))
    if kind == "oid":
        return Raw(kind, tuple(int(part) for part in value))
    if kind in ("nosuchobject", "nosuchinstance", "endofmibview"):
        return Raw(kind)
    return Raw(kind, int(value))


def _credentials(config: SnmpDevice) -> tuple[CommunityData | UsmUserData, str | None, str]:
    """The engine's auth data, the v3 user name and a digest of its keys (never the keys)."""
    if config.version != "3":
        if config.community_file is not None:
            community = _read_secret(config.community_file, "community_file")
        elif config.community is not None:
            community = config.community.get_secret_value()
        else:
            community = "public"
        return CommunityData(community, mpModel=0 if config.version == "1" else 1), None, ""
    assert config.user is not None
    kwargs: dict[str, object] = {}
    if config.auth is not None and config.auth_key_file is not None:
        kwargs.update(authKey=_read_passphrase(config.auth_key_file, "auth_key_file"),
                      authProtocol=AUTH_PROTOCOLS[config.auth])
    if config.priv is not None and config.priv_key_file is not None:
        kwargs.update(privKey=_read_passphrase(config.priv_key_file, "priv_key_file"),
                      privProtocol=PRIV_PROTOCOLS[config.priv])
    digest = hashlib.sha256(repr(sorted((k, str(v)) for k, v in kwargs.items())).encode()).hexdigest()
    return UsmUserData(config.user, **kwargs), config.user, digest


def _read_secret(path: Path, key: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SnmpError(f"{key} {str(path)!r} cannot be read: {exc}") from None
    # Only the line ending goes: spaces may be part of a secret.
    secret = text.rstrip("\r\n")
    if not secret:
        raise SnmpError(f"{key} {str(path)!r} is empty")
    return secret


def _read_passphrase(path: Path, key: str) -> str:
    secret = _read_secret(path, key)
    if len(secret) < MIN_PASSPHRASE:
        raise SnmpError(f"{key} {str(path)!r} holds a passphrase of {len(secret)} characters; SNMPv3 "
                        f"needs at least {MIN_PASSPHRASE}")
    return secret
