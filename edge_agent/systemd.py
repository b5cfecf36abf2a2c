"""Talking to systemd: ``sd_notify`` readiness, watchdog pings and a status line.

The protocol is one datagram of ``KEY=VALUE`` lines to the Unix socket named in
``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace). It is small enough
that a dozen lines here beat a dependency. Outside systemd (no ``$NOTIFY_SOCKET``) every
call is a no-op, so the agent runs the same by hand.

The watchdog pings come from a task on the agent's event loop: if the loop stalls (a
blocking call, a deadlock), the pings stop and systemd restarts the service after
``WatchdogSec=``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("edge_agent.systemd")

#: How often the status line is refreshed when systemd asked for no watchdog.
STATUS_INTERVAL = 5.0


class Notifier:
    """Sends ``sd_notify`` messages; does nothing when not started by systemd."""

    def __init__(self, address: str | None = None) -> None:
        address = os.environ.get("NOTIFY_SOCKET") if address is None else address
        self._address = _socket_address(address) if address else None
        self._socket: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        """True when systemd (or a test) listens for notifications."""
        return self._address is not None

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=VALUE`` lines in one datagram; never blocks, never raises."""
        if self._address is None or not assignments:
            return False
        payload = "\n".join(assignments).encode("utf-8", "replace")
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.setblocking(False)
            self._socket.sendto(payload, self._address)
        except OSError as exc:
            # systemd gone or socket full: the agent's work matters more than telling it.
            if not self._warned:
                log.warning("cannot notify systemd", socket=str(self._address), error=str(exc))
                self._warned = True
            return False
        return True

    def ready(self, status: str) -> None:
        """Startup (or a reload) is complete."""
        self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def reloading(self) -> None:
        """A reload has begun; systemd shows the unit as reloading until :meth:`ready`."""
        monotonic_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", "STATUS=reloading the config", f"MONOTONIC_USEC={monotonic_usec}")

    def stopping(self) -> None:
        """Shutdown has begun."""
        self.send("STOPPING=1", "STATUS=stopping: committing and sending what is left")

    def close(self) -> None:
        """Release the socket."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def watchdog_period() -> float | None:
    """Seconds between watchdog pings (half of ``$WATCHDOG_USEC``), or None when not asked for."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (our parent, say)
    return int(usec) / 1_000_000 / 2


async def keep_alive(notifier: Notifier, describe: Callable[[], str], period: float | None) -> None:
    """Ping the watchdog every ``period`` seconds (if any) and keep the status line fresh.

    Runs until cancelled. ``describe`` must be cheap: it runs on the loop at every ping.
    """
    interval = period if period is not None else STATUS_INTERVAL
    last = ""
    while True:
        messages = ["WATCHDOG=1"] if period is not None else []
        text = describe()
        if text != last:
            messages.append(f"STATUS={text}")
            last = text
        notifier.send(*messages)
        await asyncio.sleep(interval)


def _socket_address(address: str) -> str:
    if address.startswith("@"):
        return "\0" + address[1:]  # abstract namespace
    return address
