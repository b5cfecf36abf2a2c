"""Free loopback ports for test servers (never any address beyond 127.0.0.1)."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that nothing listens on (TCP) or is bound to (UDP) right now."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_port_range(count: int, kind: socket.SocketKind = socket.SOCK_STREAM, attempts: int = 50) -> int:
    """The first of ``count`` consecutive free ports on 127.0.0.1."""
    for _ in range(attempts):
        base = free_port(kind)
        if base + count >= 65536:
            continue
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, kind)
                sockets.append(sock)
                sock.bind((LOOPBACK, port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports on {LOOPBACK}")


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now (an SNMP agent's)."""
    return free_port(socket.SOCK_DGRAM)


def free_udp_ports(count: int) -> int:
    """The first of ``count`` consecutive free UDP ports on 127.0.0.1."""
    return free_port_range(count, socket.SOCK_DGRAM)
