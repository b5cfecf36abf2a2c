"""Free loopback ports for test servers (never any address beyond 127.0.0.1)."""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that nothing listens on (TCP) or is bound to (UDP) right now."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_port_range(count: int, kind: socket.SocketKind = socket.SOCK_STREAM, attempts: int = 50) -> int:
    """The first of ``count`` consecutive free ports on 127.0.0.1.

    Chosen below the kernel's ephemeral range: client connections of an earlier run (an
    agent's 1,000 Modbus connections) leave their local ports in TIME_WAIT for a minute,
    and a range among them would rarely be free.
    """
    ephemeral_low = _ephemeral_low()
    for _ in range(attempts):
        base = random.randrange(10000, max(10001, ephemeral_low - count))
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, kind)
                sockets.append(sock)
                # As a server binds: a port left in TIME_WAIT by an earlier server is free to it.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((LOOPBACK, port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports on {LOOPBACK}")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now (an SNMP agent's)."""
    return free_port(socket.SOCK_DGRAM)


def free_udp_ports(count: int) -> int:
    """The first of ``count`` consecutive free UDP ports on 127.0.0.1."""
    return free_port_range(count, socket.SOCK_DGRAM)
