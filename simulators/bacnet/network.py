"""The BACnet network around the simulated controllers: a BBMD and a router to an MS/TP-like network.

* :class:`Bbmd` is a BACnet/IP broadcast management device on a loopback address: it accepts
  foreign-device registrations (``registrations`` counts them, ``table`` is its foreign
  device table) and forwards their broadcasts to its peers, the controllers it is given.
  ``refuse = True`` answers every registration with a NAK, as a BBMD with foreign devices
  disabled does.
* :class:`Router` joins a loopback BACnet/IP address (network ``ip_network``) to an
  in-process virtual network (``network``, bacpypes3's ``vlan``), where controllers started
  with ``vlan=`` sit at a one-octet MAC, as MS/TP controllers sit behind a BACnet router.
"""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType
from typing import Any, Self

from bacpypes3.comm import bind
from bacpypes3.ipv4 import IPv4DatagramServer
from bacpypes3.ipv4.bvll import BVLLCodec
from bacpypes3.ipv4.service import BIPBBMD, UDPMultiplexer
from bacpypes3.netservice import NetworkServiceAccessPoint, NetworkServiceElement
from bacpypes3.pdu import IPv4Address, LocalStation
from bacpypes3.vlan import VirtualNetwork
from bacpypes3.vlan.link import VirtualLinkLayer

from ..campus import check_loopback

__all__ = ["Bbmd", "Router", "leave", "virtual_network"]


def _socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind((check_loopback(host), port))
    except OSError:
        sock.close()
        raise
    return sock


class _Stack:
    """bacpypes3's BVLL codec, multiplexer and datagram server above a socket we bound."""

    def __init__(self, sap: Any, host: str, port: int) -> None:
        self.server = IPv4DatagramServer(IPv4Address(f"{host}:{port}"), bind_socket=_socket(host, port))
        # Local broadcasts have nowhere to go on loopback: back to itself, where they are dropped.
        self.server.broadcast_address = (host, port)
        self.codec = BVLLCodec()
        self.multiplexer = UDPMultiplexer()
        bind(sap, self.codec, self.multiplexer.annexJ)
        bind(self.multiplexer, self.server)

    def close(self) -> None:
        self.server.close()


class _CountingBbmd(BIPBBMD):  # type: ignore[misc]
    def __init__(self, address: IPv4Address, owner: Bbmd) -> None:
        super().__init__(address)
        self.owner = owner

    def register_foreign_device(self, addr: IPv4Address, ttl: int) -> int:
        if self.owner.refuse:
            return 0x0030  # Register-Foreign-Device NAK
        self.owner.registrations += 1
        return int(super().register_foreign_device(addr, ttl))


class Bbmd:
    """A BBMD on ``host:port`` forwarding foreign devices' broadcasts to ``peers`` (``host:port``)."""

    def __init__(self, host: str, port: int, peers: tuple[str, ...] = ()) -> None:
        self.host = check_loopback(host)
        self.port = port
        self.peers = peers
        self.refuse = False
        self.registrations = 0
        self._sap: _CountingBbmd | None = None
        self._stack: _Stack | None = None
        self._nsap: NetworkServiceAccessPoint | None = None

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def table(self) -> list[tuple[str, int]]:
        """The foreign device table: (address, TTL) of each registered device."""
        if self._sap is None:
            return []
        return [(str(entry.fdAddress), int(entry.fdTTL)) for entry in self._sap.bbmdFDT]

    async def __aenter__(self) -> Self:
        address = IPv4Address(self.address)
        sap = self._sap = _CountingBbmd(address, self)
        for peer in self.peers:
            sap.add_peer(IPv4Address(peer))
        self._stack = _Stack(sap, self.host, self.port)
        # The network layer above it, so that the BBMD forwards what it is asked to distribute.
        nsap = self._nsap = NetworkServiceAccessPoint()
        nse = NetworkServiceElement()
        bind(nse, nsap)
        nsap.bind(sap, address=address)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._sap is not None:
            self._sap._fdt_clock_handle.cancel()
        if self._stack is not None:
            self._stack.close()
        self._stack = self._sap = None
        await asyncio.sleep(0)


def leave(link: VirtualLinkLayer) -> None:
    """Take a node off its virtual network (bacpypes3's close leaves it there)."""
    node = link.node
    if node.lan is not None:
        node.lan.remove_node(node)


def virtual_network(name: str) -> VirtualNetwork:
    """bacpypes3's in-process network ``name`` (made once per process and name)."""
    return VirtualNetwork._networks.get(name) or VirtualNetwork(name)


class Router:
    """A BACnet router: ``host:port`` on network ``ip_network``, the virtual ``network`` as ``network``."""

    def __init__(self, host: str, port: int, ip_network: int, network: int, vlan: str) -> None:
        self.host = check_loopback(host)
        self.port = port
        self.ip_network = ip_network
        self.network = network
        self.vlan = vlan
        self._stack: _Stack | None = None
        self._vlink: VirtualLinkLayer | None = None

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        from bacpypes3.ipv4.service import BIPNormal

        virtual_network(self.vlan)
        nsap = NetworkServiceAccessPoint()
        nse = NetworkServiceElement()
        bind(nse, nsap)
        sap = BIPNormal()
        self._stack = _Stack(sap, self.host, self.port)
        nsap.bind(sap, net=self.ip_network, address=IPv4Address(self.address))
        mac = LocalStation(b"\x01")
        self._vlink = VirtualLinkLayer(mac, self.vlan)
        nsap.bind(self._vlink, net=self.network, address=mac)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stack is not None:
            self._stack.close()
        if self._vlink is not None:
            leave(self._vlink)
        self._stack = self._vlink = None
        await asyncio.sleep(0)
