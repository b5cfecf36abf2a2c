"""A real Mosquitto broker for tests, on a free loopback port, and a test CA for mqtts.

As root, mosquitto drops to the user ``mosquitto`` unless told otherwise; pytest's tmp
folders are 0700 root, so the broker is told to stay the current user (``user root``)
and every file it touches lives in the test's own folder.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import aiomqtt

from .ports import LOOPBACK, free_port
from .server import ServerProcess
from .tlsca import TestCA

BINARY = "mosquitto"


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a test PKI: a CA, a server cert for 127.0.0.1 and a client cert."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


class Mosquitto(ServerProcess):
    """Starts, stops and restarts one mosquitto process; its port and data survive restarts."""

    name = BINARY

    def __init__(
        self,
        workdir: Path,
        *,
        tls: TlsFiles | None = None,
        require_client_cert: bool = False,
        passwords: dict[str, str] | None = None,
        extra: str = "",
    ) -> None:
        super().__init__()
        self.workdir = workdir
        self.port = free_port()
        self.tls = tls
        self.require_client_cert = require_client_cert
        self.passwords = passwords
        self.extra = extra
        self.log = workdir / "mosquitto.log"
        self.conf = workdir / "mosquitto.conf"

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT`` or ``mqtts://...`` with TLS."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{LOOPBACK}:{self.port}"

    def _write_conf(self) -> None:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} {LOOPBACK}",
            "persistence true",
            f"persistence_location {data}/",
            # Saved on every change: a broker killed mid-test keeps what it acknowledged.
            "autosave_interval 1",
            "autosave_on_changes true",
            # The default of 1,000 queued messages per offline client is too few for the tests.
            "max_queued_messages 100000",
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if os.geteuid() == 0:
            lines.append(f"user {getpass.getuser()}")
        if self.passwords is None:
            lines.append("allow_anonymous true")
        else:
            password_file = self.workdir / "passwords"
            password_file.write_text("")
            for user, password in self.passwords.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(password_file), user, password],
                    check=True,
                    capture_output=True,
                    timeout=10,
                )
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        if self.tls is not None:
            lines += [
                f"cafile {self.tls.ca}",
                f"certfile {self.tls.server_cert}",
                f"keyfile {self.tls.server_key}",
                "tls_version tlsv1.2",
            ]
            if self.require_client_cert:
                lines.append("require_certificate true")
        self.conf.write_text("\n".join(lines) + "\n" + self.extra + "\n")

    def start(self, timeout: float = 15.0) -> None:
        """Start the broker and wait until *this* process accepts connections."""
        binary = shutil.which(BINARY) or f"/usr/sbin/{BINARY}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_conf()
        stderr = self.workdir / "mosquitto.stderr"  # what it says before its own log is open
        self.launch(
            [binary, "-c", str(self.conf)],
            stderr,
            self._listening,
            see=f"{self.log} and {stderr}",
            timeout=timeout,
        )

    def _listening(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1):
                return True
        except OSError:
            return False

    def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: the broker keeps its connections open and answers nothing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after :meth:`freeze`."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def log_text(self) -> str:
        """What the broker logged."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Subscriber:
    """A persistent-session QoS 1 subscriber that reconnects: collects every message it gets."""

    def __init__(self, broker: Mosquitto, topic: str, client_id: str = "test-subscriber") -> None:
        self.broker = broker
        self.topic = topic
        self.client_id = client_id
        self.messages: list[tuple[str, bytes]] = []
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        """Receive until cancelled; a broker restart only pauses it."""
        while True:
            try:
                async with aiomqtt.Client(
                    LOOPBACK, self.broker.port, identifier=self.client_id, clean_session=False, timeout=5
                ) as client:
                    await client.subscribe(self.topic, qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        self.messages.append((message.topic.value, bytes(message.payload)))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    @property
    def lines(self) -> list[str]:
        """Every line of every payload received, in order."""
        return [line for _, payload in self.messages for line in payload.decode().splitlines()]


def make_test_pki(directory: Path, name: str = "Test CA") -> TlsFiles:
    """A CA, a server cert valid for 127.0.0.1 and localhost, and a client cert, as PEM files."""
    ca = TestCA(directory, name)
    server = ca.issue("server", hosts=(LOOPBACK, "localhost"))
    client = ca.issue("client", client=True)
    return TlsFiles(ca.cert, server.cert, server.key, client.cert, client.key)
