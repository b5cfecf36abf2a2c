"""The simulators and the agent as real processes, the way a technician runs them."""

from __future__ import annotations

import asyncio
import inspect
import json
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .ports import LOOPBACK, free_port, free_port_range, free_udp_port, free_udp_ports


@dataclass
class JournalEntry:
    """One read the simulator served."""

    t_ms: int
    device: str
    table: str
    address: int
    values: list[Any]


class SimulatedCampus:
    """``python -m simulators campus`` on free loopback ports, with a journal of every read."""

    def __init__(
        self,
        workdir: Path,
        classrooms: int = 2,
        meters: int = 1,
        machines: int = 1,
        seed: int = 7,
        switches: int = 0,
        ups: int = 0,
        switch_ports: int = 4,
        control: bool = False,
        bacnet_ahus: int = 0,
        bacnet_vavs: int = 0,
    ) -> None:
        self.workdir = workdir
        self.count = classrooms + meters + machines
        self.base_port = free_port_range(self.count)
        self.journal_path = workdir / "journal.jsonl"
        self.args = [
            "--seed",
            str(seed),
            "--classrooms",
            str(classrooms),
            "--meters",
            str(meters),
            "--machines",
            str(machines),
            "--base-port",
            str(self.base_port),
            "--host",
            LOOPBACK,
        ]
        if switches or ups:
            self.args += [
                "--switches",
                str(switches),
                "--ups",
                str(ups),
                "--switch-ports",
                str(switch_ports),
                "--snmp-port",
                str(free_udp_ports(switches + ups)),
            ]
        if bacnet_ahus or bacnet_vavs:
            # Each device on its own 127.0.0.x at this port; the agent at 127.0.0.1, port + 9.
            self.args += [
                "--bacnet-ahus",
                str(bacnet_ahus),
                "--bacnet-vavs",
                str(bacnet_vavs),
                "--bacnet-port",
                str(free_udp_port()),
            ]
        #: ``python -m simulators ctl ... --port`` this, when the campus takes commands.
        self.control_port = free_port() if control else None
        self.process: subprocess.Popen[str] | None = None

    def config(self) -> str:
        """The ``[[devices.modbus]]`` entries that poll this campus."""
        return subprocess.run(
            [sys.executable, "-m", "simulators", "campus", *self.args, "--print-config"],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout

    def start(self) -> None:
        """Start serving and wait for ``ready``."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulators",
                "campus",
                *self.args,
                "--journal",
                str(self.journal_path),
                *(["--control-port", str(self.control_port)] if self.control_port else []),
            ],
            stdout=subprocess.PIPE,
            stderr=(self.workdir / "simulators.log").open("ab"),
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        for line in self.process.stdout:
            if line.strip() == "ready":
                return
            if time.monotonic() > deadline:
                break
        raise RuntimeError(f"simulators did not start; see {self.workdir / 'simulators.log'}")

    def ctl(self, verb: str, *names: str) -> subprocess.CompletedProcess[str]:
        """``python -m simulators ctl VERB NAME [VERSION]`` against this campus (started with ``control``)."""
        assert self.control_port, "SimulatedCampus(control=True)"
        named = [name for name in names if name]
        return subprocess.run(
            [sys.executable, "-m", "simulators", "ctl", verb, *named, "--port", str(self.control_port)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def stop(self) -> None:
        """SIGTERM and wait: the journal is complete afterwards."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
            self.process = None

    def journal(self) -> list[JournalEntry]:
        """Every read served so far."""
        entries = []
        for line in written_lines(self.journal_path):
            if line.strip():
                data = json.loads(line)
                entries.append(
                    JournalEntry(data["t_ms"], data["device"], data["table"], data["address"], data["values"])
                )
        return entries

    def served_polls(self) -> dict[str, list[int]]:
        """Per device, the times of polls the simulator answered completely.

        A poll reads each block of a device once; the count of complete polls is the
        count of reads of the block read least often.
        """
        by_block: dict[str, dict[tuple[str, int], list[int]]] = defaultdict(lambda: defaultdict(list))
        for entry in self.journal():
            by_block[entry.device][(entry.table, entry.address)].append(entry.t_ms)
        return {device: min(blocks.values(), key=len) for device, blocks in by_block.items()}


class AgentProcess:
    """``python -m edge_agent run CONFIG`` as a child process."""

    def __init__(self, config: Path, python: Path | None = None) -> None:
        self.config = config
        self.log = config.parent / "agent.log"
        # Another venv's python runs the agent as installed there (bench.peer_thingsboard).
        self.python = str(python) if python is not None else sys.executable
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the agent (it logs JSON to agent.log)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.python, "-m", "edge_agent", "run", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as systemd stops it; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def kill(self) -> None:
        """SIGKILL: no chance to flush or say goodbye."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def running(self) -> bool:
        """Still alive."""
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        """What the agent logged."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``edge-agent ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "edge_agent", *args], capture_output=True, text=True, timeout=timeout
    )


def written_lines(path: Path) -> list[str]:
    """The complete lines of a file another process is appending to (a journal): a last line
    still being written, without its newline yet, is left for the next read."""
    if not path.exists():
        return []
    text = path.read_text()
    return text[: text.rfind("\n") + 1].splitlines()


def wait_for(condition: Any, timeout: float, interval: float = 0.25, what: str = "condition") -> Any:
    """Poll ``condition()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


async def until(
    condition: Any, seconds: float, what: str, *, interval: float = 0.05, blocking: bool = False
) -> Any:
    """The async twin of :func:`wait_for`: poll without stopping the loop the test's servers run on.

    ``condition`` may be a coroutine function; ``blocking=True`` runs a plain one in a thread,
    for a condition that makes a blocking call (an HTTP GET to the agent). Returns its result.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        result = await asyncio.to_thread(condition) if blocking else condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(interval)
