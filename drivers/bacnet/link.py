"""The agent's own BACnet/IP endpoint: one UDP socket and one bacpypes3 application on it.

Every device that names the same ``local_address``, ``port`` and ``bbmd`` shares one
:class:`Endpoint` (a BACnet node has one address; fifty VAV boxes do not need fifty
sockets). Drivers :func:`acquire` it when they open and :func:`release` it when they close;
the last one out closes the socket.

Why the socket is bound here and handed to bacpypes3: bacpypes3 binds with SO_REUSEPORT
and, when the bind still fails, retries every second for ever without a word. A port held
by a BMS workstation would then look like a device that never answers. Binding it
ourselves, without SO_REUSEPORT, turns that into an immediate :class:`EndpointError` that
names the port and what to change.

The application answers no Who-Is (the gateway stays out of the BMS's device list, so no
duplicate device instance can appear there) and routes COV notifications to the
subscriptions of :mod:`.cov`. With ``bbmd`` set, the link registers as a foreign device and
renews the registration at three quarters of its TTL (bacpypes3 alone renews only when the
TTL has run out, inside the BBMD's 30-second grace).

This module is the one place that reaches into bacpypes3's internals (the foreign link's
``_start_tracking_registration``/``_registration_handle``, the datagram server's
``bind_socket``); no upstream issue tracks either yet. tests/drivers/bacnet/
test_bacpypes3_compat.py pins the release they were checked against, so an upgrade fails
there first.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bacpypes3.apdu import (
    ConfirmedCOVNotificationRequest,
    SimpleAckPDU,
    UnconfirmedCOVNotificationRequest,
)
from bacpypes3.app import Application
from bacpypes3.basetypes import Segmentation
from bacpypes3.comm import bind
from bacpypes3.errors import ServicesError
from bacpypes3.ipv4 import IPv4DatagramServer
from bacpypes3.ipv4.bvll import BVLLCodec, Result
from bacpypes3.ipv4.service import BIPForeign, BIPNormal, UDPMultiplexer
from bacpypes3.local.device import DeviceObject
from bacpypes3.pdu import Address, IPv4Address

__all__ = ["AGENT_INSTANCE", "Endpoint", "EndpointError", "EndpointKey", "acquire", "release"]

#: The agent's own device instance; it answers no Who-Is, so no BMS ever lists it.
AGENT_INSTANCE = 4194302
#: BACnet/IP's largest APDU (1476 octets in a 1497-octet NPDU).
MAX_APDU = 1476
#: Segments of a segmented answer the agent accepts.
MAX_SEGMENTS = 16
#: Share of the TTL after which a foreign-device registration is renewed.
RENEW_SHARE = 0.75

Notify = Callable[[Any], None]


class EndpointError(Exception):
    """The endpoint cannot be opened (port taken, address not here, BBMD refused); says what to change."""


@dataclass(frozen=True, slots=True)
class EndpointKey:
    """What makes two devices share an endpoint."""

    local_address: str
    port: int
    bbmd: tuple[str, int] | None = None
    bbmd_ttl: int = 300


class AgentApplication(Application):  # type: ignore[misc]
    """bacpypes3's application, silent to Who-Is, with COV notifications handed to a callback."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: (device address, subscriber process id) -> callback taking the notification.
        self.subscribers: dict[tuple[Address, int], Notify] = {}

    async def do_WhoIsRequest(self, apdu: Any) -> None:
        """Stay out of Who-Is answers (see the module's docstring)."""

    async def do_WhoHasRequest(self, apdu: Any) -> None:
        """Stay out of Who-Has answers too."""

    async def do_ConfirmedCOVNotificationRequest(self, apdu: ConfirmedCOVNotificationRequest) -> None:
        """A confirmed notification: hand it over and acknowledge it, or say we know no such subscription."""
        notify = self.subscribers.get((apdu.pduSource, apdu.subscriberProcessIdentifier))
        if notify is None:
            raise ServicesError(errorCode="unknownSubscription")
        notify(apdu)
        await self.response(SimpleAckPDU(context=apdu))

    async def do_UnconfirmedCOVNotificationRequest(self, apdu: UnconfirmedCOVNotificationRequest) -> None:
        """An unconfirmed notification: hand it over."""
        notify = self.subscribers.get((apdu.pduSource, apdu.subscriberProcessIdentifier))
        if notify is not None:
            notify(apdu)


def _bound_socket(key: EndpointKey) -> socket.socket:
    """The UDP socket of the endpoint, or EndpointError naming the port and what to change."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setblocking(False)
        sock.bind((key.local_address, key.port))
    except OSError as exc:
        sock.close()
        where = f"{key.local_address}:{key.port}"
        if exc.errno == errno.EADDRINUSE:
            raise EndpointError(
                f"the agent's UDP port {where} is already in use (a BMS workstation or another "
                f"BACnet program on this gateway holds it); set port = {key.port + 1} (any free "
                "port; devices answer to it) on the devices that use it, or stop the other program"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise EndpointError(
                f"local_address {key.local_address} is not an address of this gateway; set it to "
                'the gateway\'s address on the BACnet network, or "0.0.0.0"'
            ) from None
        if exc.errno == errno.EACCES:
            raise EndpointError(
                f"not allowed to use UDP port {where} (ports below 1024 need privileges); "
                "set port = 47808 or another port above 1023"
            ) from None
        raise EndpointError(f"cannot open UDP {where}: {exc.strerror or exc}") from None
    return sock


class _Link:
    """bacpypes3's link-layer stack (as its NormalLinkLayer builds it) above the socket we bound."""

    def __init__(self, sap: Any, sock: socket.socket, local: IPv4Address) -> None:
        self.sap = sap
        self.codec = BVLLCodec()
        self.multiplexer = UDPMultiplexer()
        self.server = IPv4DatagramServer(local, bind_socket=sock)
        # Broadcasts (a scan's Who-Is) go to the limited broadcast address from the same socket.
        self.server.broadcast_address = ("255.255.255.255", 47808)
        bind(sap, self.codec, self.multiplexer.annexJ)
        bind(self.multiplexer, self.server)

    def close(self) -> None:
        self.server.close()


class _ForeignLink(BIPForeign):  # type: ignore[misc]
    """bacpypes3's foreign-device link, renewing early and telling when the BBMD answered."""

    def __init__(self) -> None:
        super().__init__()
        self.answered = asyncio.Event()
        self.registrations = 0

    async def confirmation(self, lpdu: Any) -> None:
        await super().confirmation(lpdu)
        if isinstance(lpdu, Result) and lpdu.pduSource == self.bbmdAddress:
            self.registrations += 1
            self.answered.set()

    def _start_tracking_registration(self) -> None:
        super()._start_tracking_registration()
        # bacpypes3 schedules the renewal when the TTL runs out; renew well before instead.
        handle: asyncio.Handle | None = getattr(self, "_registration_handle", None)
        if handle is not None:
            handle.cancel()
        ttl = float(self.bbmdTimeToLive or 1)
        loop = asyncio.get_running_loop()
        self._registration_handle = loop.call_later(ttl * RENEW_SHARE, self._start_registration)


class Endpoint:
    """One local UDP endpoint and its application; shared by the devices naming it."""

    def __init__(self, key: EndpointKey) -> None:
        self.key = key
        self.users = 0
        self.app: AgentApplication | None = None
        self.foreign: _ForeignLink | None = None
        self._link: _Link | None = None
        self._routes: set[tuple[int, str]] = set()

    def widen(self, wait: float) -> None:
        """Let bacpypes3 wait at least ``wait`` seconds for an answer (each device bounds its own)."""
        device = self.app.device_object if self.app is not None else None
        if device is not None and device.apduTimeout < wait * 1000:
            device.apduTimeout = int(wait * 1000)

    @property
    def application(self) -> AgentApplication:
        """The open application."""
        if self.app is None:
            raise EndpointError("the BACnet endpoint is closed")
        return self.app

    async def open(self, wait: float) -> None:
        """Bind, build the stack, and register with the BBMD if one is set."""
        key = self.key
        sock = _bound_socket(key)
        local = IPv4Address(f"{key.local_address}:{sock.getsockname()[1]}")
        device = DeviceObject(
            objectIdentifier=("device", AGENT_INSTANCE),
            objectName="edge-agent",
            vendorIdentifier=999,
            maxApduLengthAccepted=MAX_APDU,
            segmentationSupported=Segmentation.segmentedBoth,
            maxSegmentsAccepted=MAX_SEGMENTS,
            # One try per request, bounded by the device's timeout: the scheduler retries.
            # (Raised to the longest timeout of the devices that share the endpoint: widen.)
            apduTimeout=int(wait * 1000),
            numberOfApduRetries=0,
        )
        app = AgentApplication.from_object_list([device])
        if key.bbmd is None:
            sap: Any = BIPNormal()
        else:
            sap = self.foreign = _ForeignLink()
        self._link = _Link(sap, sock, local)
        app.nsap.bind(sap, address=local)
        self.app = app
        if self.foreign is not None and key.bbmd is not None:
            await self._register(key.bbmd, wait)

    async def _register(self, bbmd: tuple[str, int], wait: float) -> None:
        foreign = self.foreign
        assert foreign is not None
        where = f"{bbmd[0]}:{bbmd[1]}"
        foreign.register(IPv4Address(where), self.key.bbmd_ttl)
        try:
            async with asyncio.timeout(wait):  # not wait_for: see session.Session.ask
                await foreign.answered.wait()
        except TimeoutError:
            self.close()
            raise EndpointError(
                f"BBMD {where} did not answer the foreign-device registration within {wait:g}s; "
                "check bbmd (the BBMD's address and port) and that UDP reaches it"
            ) from None
        status = foreign.bbmdRegistrationStatus
        if status != 0:
            self.close()
            raise EndpointError(
                f"BBMD {where} refused the foreign-device registration (BVLC result 0x{status:04x}); "
                "check that bbmd is a BBMD that accepts foreign devices (its foreign-device "
                "table enabled, this gateway allowed), or remove bbmd"
            )

    async def route(self, network: int, router: str) -> None:
        """Reach ``network`` through the BACnet router at ``router`` (``host:port``).

        Set in bacpypes3's routing cache as an I-Am-Router-To-Network would: no
        Who-Is-Router-To-Network broadcast is needed, nor possible across subnets.
        """
        if (network, router) in self._routes or self.app is None:
            return
        self._routes.add((network, router))
        await self.app.nsap.router_info_cache.update_path_info(None, Address(router), {network})

    def close(self) -> None:
        """Close the socket (the BBMD forgets us when the TTL runs out)."""
        if self.foreign is not None:
            self.foreign._stop_tracking_registration()
        if self._link is not None:
            self._link.close()
            self._link = None
        if self.app is not None:
            with contextlib.suppress(Exception):
                self.app.close()
        self.app = None


_ENDPOINTS: dict[tuple[int, EndpointKey], Endpoint] = {}
_LOCK: dict[int, asyncio.Lock] = {}


async def acquire(key: EndpointKey, wait: float) -> Endpoint:
    """The shared endpoint for ``key`` in this event loop, opened on first use."""
    loop = id(asyncio.get_running_loop())
    lock = _LOCK.setdefault(loop, asyncio.Lock())
    async with lock:
        endpoint = _ENDPOINTS.get((loop, key))
        if endpoint is None or endpoint.app is None:
            endpoint = Endpoint(key)
            await endpoint.open(wait)
            _ENDPOINTS[(loop, key)] = endpoint
        endpoint.widen(wait)
        endpoint.users += 1
        return endpoint


async def release(endpoint: Endpoint) -> None:
    """One user less; the last one closes the endpoint, and the port is free when this returns."""
    endpoint.users -= 1
    if endpoint.users > 0:
        return
    for slot, known in list(_ENDPOINTS.items()):
        if known is endpoint:
            del _ENDPOINTS[slot]
    endpoint.close()
    # asyncio closes a transport's socket on the loop's next turn: wait for it, so that a
    # driver started right after (a reload) can bind the same port.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
