"""Helpers for the service tests: a fake systemd notify socket, the agent with its own
environment, the health endpoints, and configs cut from the simulated campus."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.agentconfig import agent_toml as agent_toml
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import AgentProcess, SimulatedCampus


class NotifySocket:
    """What systemd listens on: a Unix datagram socket whose path goes in $NOTIFY_SOCKET."""

    def __init__(self) -> None:
        # A short folder: Unix socket paths are limited to 107 bytes, pytest's tmp_path can be longer.
        self._dir = tempfile.mkdtemp(prefix="notify-", dir="/tmp")
        self.path = os.path.join(self._dir, "notify.sock")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(self.path)
        self._socket.setblocking(False)
        self.messages: list[dict[str, str]] = []

    def receive(self) -> list[dict[str, str]]:
        """Every message received so far, each as its KEY=VALUE pairs."""
        while True:
            try:
                data = self._socket.recv(65536)
            except BlockingIOError:
                return self.messages
            pairs = (line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append(dict(pairs))

    def with_key(self, key: str) -> list[dict[str, str]]:
        """The messages that carry ``key``."""
        return [m for m in self.receive() if key in m]

    def close(self) -> None:
        """Unbind and remove the socket."""
        self._socket.close()
        os.unlink(self.path)
        os.rmdir(self._dir)


class ServiceAgent(AgentProcess):
    """``edge-agent run`` with extra environment, as systemd would start it."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(config)
        self.env = env or {}

    def start(self) -> None:
        """Start with the extra environment; logs go to agent.log."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "edge_agent", "run", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
            )

    @property
    def pid(self) -> int:
        """The agent's process id."""
        assert self.process is not None
        return self.process.pid

    def log_events(self) -> list[dict[str, Any]]:
        """The agent's JSON log lines, parsed (other lines are left out)."""
        events = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                events.append(json.loads(line))
        return events


def campus_devices(campus: SimulatedCampus) -> dict[str, str]:
    """Each simulated device's ``[[devices.modbus]]`` entry, by name."""
    entries = {}
    for block in campus.config().strip().split("\n\n"):
        name = next(line for line in block.splitlines() if line.startswith("name = "))
        entries[name.split('"')[1]] = block
    return entries


def free_listen() -> str:
    """A free loopback address for the health listener."""
    return f"{LOOPBACK}:{free_port()}"


def get(url: str) -> tuple[int, str]:
    """GET ``url``: status and body (errors too); raises OSError when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def healthz(listen: str) -> tuple[int, dict[str, Any]] | None:
    """``/healthz`` of the agent on ``listen``, or None while it does not answer yet."""
    try:
        code, body = get(f"http://{listen}/healthz")
    except OSError:
        return None
    return code, json.loads(body)


def devices_in(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's devices by name."""
    return {d["name"]: d for d in report["devices"]}
