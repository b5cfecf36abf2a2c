"""SNMPv3 (user-based security: auth and priv) through pysnmp.

Only SNMPv3 needs pysnmp: engine discovery, time windows, key localisation, HMACs and
ciphers are a lot to get right, and v3 devices are few. pysnmp costs ~15 MB of memory
and its decoder far more CPU per value than the driver's own (ber.py), so this module is
imported only when a v3 session opens: an agent polling v1/v2c devices never loads it.

One pysnmp ``SnmpEngine`` serves every v3 device of an :class:`~drivers.snmp.session.EnginePool`
slot (one socket); USM keeps one key set per user name and engine, so two devices with
the same user name and different keys need two engines, and the pool makes them.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Sequence
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
from .exchange import Response, SnmpError, read_passphrase, timeout_reason
from .mibs import Oid
from .transport import RECEIVE_BUFFER, Peer

AUTH_PROTOCOLS = {
    "md5": USM_AUTH_HMAC96_MD5,
    "sha": USM_AUTH_HMAC96_SHA,
    "sha224": USM_AUTH_HMAC128_SHA224,
    "sha256": USM_AUTH_HMAC192_SHA256,
    "sha384": USM_AUTH_HMAC256_SHA384,
    "sha512": USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "des": USM_PRIV_CBC56_DES,
    "aes128": USM_PRIV_CFB128_AES,
    "aes192": USM_PRIV_CFB192_AES_BLUMENTHAL,
    "aes256": USM_PRIV_CFB256_AES_BLUMENTHAL,
    "aes192c": USM_PRIV_CFB192_AES,
    "aes256c": USM_PRIV_CFB256_AES,
}

_TYPES: dict[type, RawType] = {
    rfc1902.Counter32: "counter32",
    rfc1902.Counter64: "counter64",
    rfc1902.Gauge32: "gauge",
    rfc1902.Unsigned32: "gauge",
    rfc1902.TimeTicks: "timeticks",
    rfc1902.Integer32: "integer",
    rfc1902.Integer: "integer",
    rfc1902.IpAddress: "ipaddress",
    rfc1902.OctetString: "octets",
    rfc1902.Bits: "octets",
    rfc1902.Opaque: "opaque",
    rfc1902.ObjectIdentifier: "oid",
    rfc1905.NoSuchObject: "nosuchobject",
    rfc1905.NoSuchInstance: "nosuchinstance",
    rfc1905.EndOfMibView: "endofmibview",
    # The decoder builds plain ASN.1 types for the "simple" syntaxes.
    univ.ObjectIdentifier: "oid",
    univ.Integer: "integer",
    univ.OctetString: "octets",
}


class UsmEngine:
    """A pysnmp engine with its own IPv4 socket, made here to give it a large receive buffer."""

    def __init__(self) -> None:
        self.engine = SnmpEngine()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.setblocking(False)
            # Unbound, like the engine's own client socket: the first send picks a local port.
            transport = udp.UdpAsyncioTransport().open_server_mode(sock=sock)
            engine_config.add_transport(self.engine, udp.DOMAIN_NAME, transport)
        except BaseException:
            sock.close()
            raise

    def close(self) -> None:
        """Close the engine's sockets."""
        self.engine.close_dispatcher()


def user_keys(config: SnmpDevice) -> tuple[Any, str]:
    """The device's USM user data and a digest of its keys (never the keys) to tell key sets apart."""
    assert config.user is not None
    kwargs: dict[str, object] = {}
    if config.auth is not None and config.auth_key_file is not None:
        kwargs.update(
            authKey=read_passphrase(config.auth_key_file, "auth_key_file"),
            authProtocol=AUTH_PROTOCOLS[config.auth],
        )
    if config.priv is not None and config.priv_key_file is not None:
        kwargs.update(
            privKey=read_passphrase(config.priv_key_file, "priv_key_file"),
            privProtocol=PRIV_PROTOCOLS[config.priv],
        )
    digest = hashlib.sha256(repr(sorted((k, str(v)) for k, v in kwargs.items())).encode()).hexdigest()
    return UsmUserData(config.user, **kwargs), digest


class UsmClient:
    """Requests of one SNMPv3 device through a shared :class:`UsmEngine`."""

    def __init__(self, config: SnmpDevice, user: Any, target: Any, engine: UsmEngine) -> None:
        self._config = config
        self._user = user
        self._target = target
        self._engine = engine.engine
        self._context = ContextData(contextName=config.context.encode())
        self.address = f"{config.host}:{config.port}"
        # Our own deadline bounds every request should the engine's timer ever stall;
        # engine discovery can cost a second round trip.
        self._deadline = config.timeout * (config.retries + 1) * 2 + 1.0

    @staticmethod
    async def target(config: SnmpDevice, peer: Peer) -> Any:
        """The pysnmp transport target of the device at ``peer`` (already resolved)."""
        target_class = Udp6TransportTarget if peer.family == socket.AF_INET6 else UdpTransportTarget
        try:
            # pysnmp resolves the (numeric) address again, in the loop's executor.
            async with asyncio.timeout(config.timeout + 5):
                return await target_class.create(
                    peer.sockaddr[:2], timeout=config.timeout, retries=config.retries
                )
        except (PySnmpError, TimeoutError) as exc:
            raise SnmpError(
                f"cannot resolve {config.host!r}: {str(exc) or 'DNS timeout'}; "
                "check host (an IP address avoids DNS altogether)"
            ) from None

    async def request(self, kind: str, oids: Sequence[Oid], repetitions: int) -> Response:
        """One request (``get``, ``getnext`` or ``getbulk``); SnmpError when it got no usable answer."""
        engine, user, target, context = self._engine, self._user, self._target, self._context
        varbinds = [ObjectType(ObjectIdentity(oid)) for oid in oids]
        result: tuple[Any, Any, Any, Any]
        if kind == "get":
            call = get_cmd(engine, user, target, context, *varbinds, lookupMib=False)
        elif kind == "getnext":
            call = next_cmd(engine, user, target, context, *varbinds, lookupMib=False)
        else:
            call = bulk_cmd(engine, user, target, context, 0, repetitions, *varbinds, lookupMib=False)
        try:
            async with asyncio.timeout(self._deadline):
                result = await call
        except TimeoutError:
            raise SnmpError(timeout_reason(self._config, self.address), timeout=True) from None
        except Exception as exc:  # whatever the stack raises fails this poll, not the agent
            raise SnmpError(f"{kind} to {self.address} failed: {type(exc).__name__}: {exc}") from None
        indication, status, index, answer = result
        if indication:
            timed_out = isinstance(indication, errind.RequestTimedOut)
            raise SnmpError(self._indication_reason(indication), timeout=timed_out)
        return Response(
            str(status) if int(status) else None,
            int(index),
            [(tuple(name), to_raw(value)) for name, value in answer],
        )

    def _indication_reason(self, indication: object) -> str:
        config = self._config
        user = f"SNMPv3 user {config.user!r}"
        if isinstance(indication, errind.RequestTimedOut):
            return timeout_reason(config, self.address)
        if isinstance(indication, errind.WrongDigest | errind.AuthenticationFailure):
            return (
                f"{self.address} rejects the authentication of {user}: wrong auth key or protocol "
                f"(auth = {config.auth!r}; check auth_key_file)"
            )
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
