"""A simulated school campus: one Modbus TCP server per device, on loopback.

Device order is classrooms, then meters, then machines; device ``i`` (0-based
in that order) listens on ``base_port + i`` with unit id 1 and is seeded with
``seed + i``.

Example::

    async with Campus(seed=1, classrooms=2, meters=1, machines=1) as campus:
        for device in campus.devices:
            print(device.name, device.port)
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from .journal import Journal
from .models import DeviceModel, Sample, make_model
from .profiles import RegisterSpec, register_map, toml_string
from .server import Clock, DeviceRuntime, DeviceServer

__all__ = [
    "Campus",
    "RegisterSpec",
    "SimulatedDevice",
    "build_devices",
    "check_loopback",
    "register_map",
    "render_devices_config",
]

UNIT_ID = 1


@dataclass(frozen=True)
class SimulatedDevice:
    """Where and what one simulated device is."""

    name: str
    kind: str
    host: str
    port: int
    unit: int
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """``host:port``, with IPv6 hosts bracketed."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def check_loopback(host: str) -> str:
    """Return ``host`` if it is a loopback address, else raise ``ValueError``.

    Names (even ``localhost``) are refused: only a literal address proves the
    simulator cannot end up reachable from the network.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"host {host!r} is not an IP address; use a loopback address such as 127.0.0.1 or ::1"
        ) from None
    if not address.is_loopback:
        raise ValueError(f"host {host!r} is not a loopback address (127.0.0.0/8 or ::1); refusing to bind")
    return host


def build_devices(
    classrooms: int = 3,
    meters: int = 2,
    machines: int = 2,
    base_port: int = 15020,
    host: str = "127.0.0.1",
) -> list[SimulatedDevice]:
    """Lay out the campus without starting anything (pure function).

    Raises ``ValueError`` on a non-loopback host, negative counts, an empty
    campus or ports outside 1..65535.
    """
    check_loopback(host)
    if min(classrooms, meters, machines) < 0:
        raise ValueError("device counts must not be negative")
    total = classrooms + meters + machines
    if total == 0:
        raise ValueError("the campus needs at least one device")
    if base_port < 1 or base_port + total - 1 > 65535:
        raise ValueError(
            f"ports {base_port}..{base_port + total - 1} do not fit in 1..65535 (port 0 is not supported)"
        )

    def ab(i: int) -> str:  # buildings A and B alternate
        return "AB"[(i - 1) % 2]

    layout: list[tuple[str, str, dict[str, str]]] = []
    for i in range(1, classrooms + 1):
        layout.append((f"classroom-{i}", "classroom-iaq", {"building": ab(i), "room": str(100 + i)}))
    for i in range(1, meters + 1):
        layout.append((f"meter-{i}", "energy-meter-3ph", {"building": ab(i), "room": f"plant-{i}"}))
    for i in range(1, machines + 1):
        layout.append((f"machine-{i}", "training-machine", {"building": "T", "room": f"lab-{i}"}))
    return [
        SimulatedDevice(name, kind, host, base_port + index, UNIT_ID, tags)
        for index, (name, kind, tags) in enumerate(layout)
    ]


def render_devices_config(devices: list[SimulatedDevice]) -> str:
    """Render the agent's ``[[devices.modbus]]`` TOML entries for ``devices``."""
    blocks = []
    for device in devices:
        tags = ", ".join(f"{key} = {toml_string(value)}" for key, value in device.tags.items())
        blocks.append(
            "\n".join(
                [
                    "[[devices.modbus]]",
                    f"name = {toml_string(device.name)}",
                    f"host = {toml_string(device.host)}",
                    f"port = {device.port}",
                    f"unit = {device.unit}",
                    f"profile = {toml_string(device.kind)}",
                    f"tags = {{ {tags} }}",
                ]
            )
        )
    return "\n\n".join(blocks) + "\n"


class Campus:
    """The simulated campus; start it to serve every device over Modbus TCP."""

    def __init__(
        self,
        seed: int = 1,
        classrooms: int = 3,
        meters: int = 2,
        machines: int = 2,
        base_port: int = 15020,
        host: str = "127.0.0.1",
        journal: str | Path | None = None,
        *,
        clock: Clock | None = None,
        epoch: float | None = None,
        utc_offset_h: float = 0.0,
    ):
        """Lay out the campus; nothing listens until :meth:`start`.

        ``clock`` returns simulated Unix time (default: the wall clock); inject
        one for reproducible values.  ``epoch`` is the simulated instant the
        counters (kWh, run time) start from their seeded values (default: the
        clock at construction).  ``utc_offset_h`` shifts the school schedule
        from UTC to local time.  ``journal`` is a JSON-lines file of served
        reads; without it nothing is journaled.
        """
        self.seed = seed
        self.devices = build_devices(classrooms, meters, machines, base_port, host)
        self.clock: Clock = clock if clock is not None else time.time
        self.epoch = self.clock() if epoch is None else epoch
        self.journal_path = Path(journal) if journal is not None else None
        self.models: dict[str, DeviceModel] = {
            device.name: make_model(device.kind, seed + index, self.epoch, utc_offset_h * 3600)
            for index, device in enumerate(self.devices)
        }
        self.runtimes: dict[str, DeviceRuntime] = {
            device.name: DeviceRuntime(device.name, device.unit, self.models[device.name], self.clock)
            for device in self.devices
        }
        self._servers: list[DeviceServer] = []
        self._journal: Journal | None = None

    def device(self, name: str) -> SimulatedDevice:
        """Return the device called ``name``."""
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(name)

    def sample(self, name: str, t: float | None = None) -> Sample:
        """Ground truth: engineering values of device ``name`` at simulated time ``t``.

        Counters are reported as served (never below an earlier served value).
        """
        return self.runtimes[name].sample(t)

    def render_config(self) -> str:
        """The agent's ``[[devices.modbus]]`` TOML for this campus."""
        return render_devices_config(self.devices)

    @property
    def function_codes(self) -> Counter[int]:
        """Function codes of every request the running servers received (reads and writes)."""
        total: Counter[int] = Counter()
        for server in self._servers:
            total.update(server.function_codes)
        return total

    @property
    def running(self) -> bool:
        """Whether the servers are listening."""
        return bool(self._servers)

    async def start(self) -> None:
        """Start every server; returns once all listen.

        Raises ``OSError`` if a port cannot be bound; servers already started
        are closed again first.
        """
        if self._servers:
            raise RuntimeError("campus already started")
        # pymodbus logs every connection at INFO/DEBUG; keep only real problems.
        logging.getLogger("pymodbus").setLevel(logging.WARNING)
        if self.journal_path is not None:
            self._journal = Journal(self.journal_path)
            self._journal.start()
        try:
            for device in self.devices:
                server = DeviceServer(self.runtimes[device.name], device.host, device.port, self._journal)
                try:
                    await server.serve_forever(background=True)
                except RuntimeError as exc:
                    # pymodbus reports any bind failure as a bare RuntimeError.
                    raise OSError(f"{device.name}: cannot listen on {device.endpoint}: {exc}") from exc
                self._servers.append(server)
        except BaseException:
            await self.stop()
            raise

    async def stop_device(self, name: str) -> None:
        """Close one device's server: its port refuses connections, as a device without power.

        Its model keeps time, so :meth:`start_device` brings it back with today's values.
        KeyError for a name the campus does not have.
        """
        self.device(name)
        for server in [s for s in self._servers if s.runtime.name == name]:
            self._servers.remove(server)
            await server.close_server()

    async def start_device(self, name: str) -> None:
        """Serve one device stopped by :meth:`stop_device` again, on its own port."""
        device = self.device(name)
        if any(s.runtime.name == name for s in self._servers):
            return
        server = DeviceServer(self.runtimes[name], device.host, device.port, self._journal)
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            raise OSError(f"{name}: cannot listen on {device.endpoint}: {exc}") from exc
        self._servers.append(server)

    async def stop(self) -> None:
        """Close every server and client connection, and the journal."""
        servers, self._servers = self._servers, []
        for server in servers:
            await server.close_server()
        if self._journal is not None:
            await self._journal.close()
            self._journal = None

    async def __aenter__(self) -> Campus:
        """Start the campus."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the campus."""
        await self.stop()
