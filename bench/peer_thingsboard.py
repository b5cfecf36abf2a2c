"""The agent beside the ThingsBoard IoT Gateway at the same Modbus load: memory and CPU.

Issue #32 set the agent's memory goal as relative: at most the ThingsBoard gateway's RSS at
the same load. This runs both, one after the other, on the same simulated devices (the
footprint's Modbus part: N meters of 40 input registers, 20 float32 values read in one
request, every 10 s), the agent through bench.footprint's campus into VictoriaMetrics, the
gateway's Modbus connector into a local Mosquitto (its ThingsBoard MQTT API,
``v1/gateway/telemetry``), and prints for each: peak RSS (VmHWM), RSS at the end, CPU share
of one core, values delivered per second (the agent: counted in the store; the gateway:
counted by a subscriber on the broker), and the ratios.

Each runs from a venv of its own, as it is installed on a gateway: the agent from
bench/.peers/agent (this tree and its runtime dependencies, installed again at each run),
the gateway from bench/.peers/thingsboard (both gitignored). The gateway is never a
dependency of the project: the first run installs it, pinned, into its venv, with the
pymodbus its Modbus connector pins (the connector would otherwise pip-install it itself at start-up). Its
configuration is written here from its documentation and source: the shipped
tb_gateway.json's settings, its storage the shipped default (memory), pointed at the
loopback broker; its update check, which has no setting, is pointed at a closed loopback
port. Every socket the gateway holds is checked to be on loopback while it runs.

Not part of ``make bench`` (it installs a third-party program and takes 10-25 minutes).
Run: .venv/bin/python -m bench.peer_thingsboard [--devices 100 1000] [--seconds 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import aiomqtt

from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import AgentProcess

from .footprint import Campus, campus, scrape, wait_until_answering
from .measure import cpu_seconds, peak_rss_mb, rss_mb

GATEWAY_VERSION = "3.8.5"
# What the gateway's Modbus connector requires (modbus_connector.py, ``required_version``):
# it pip-installs exactly this at start-up when another is found, so the bench installs it first.
GATEWAY_EXTRAS = ("pymodbus==3.9.2", "pyserial", "pyserial-asyncio")
PEER = Path(__file__).resolve().parent / ".peers" / "thingsboard"
# The agent as a school installs it: the project with its runtime dependencies alone. The
# development venv also holds the test and bench tools, and influxdb-client imports numpy
# whenever it is installed (matplotlib brings it): 11 MB of RSS no gateway pays.
AGENT = Path(__file__).resolve().parent / ".peers" / "agent"
ROOT = Path(__file__).resolve().parent.parent

VALUES = 20  # float32 values a device serves in 40 input registers (the profile bench-40)
INTERVAL_S = 10.0

# Run in the gateway's venv: its update check posts to a fixed address outside the box at start
# and every hour, with no setting to turn it off; the module global it reads is pointed at a
# loopback port nothing listens on before the service starts. Nothing else is changed.
LAUNCHER = """
import sys
from thingsboard_gateway.tb_utility import tb_updater
tb_updater.UPDATE_SERVICE_BASE_URL = sys.argv[2]
from thingsboard_gateway.gateway.tb_gateway_service import TBGatewayService
TBGatewayService(sys.argv[1])
"""


# The gateway's storages: what a school gets by default, and the one that keeps events on disk.
STORAGES: dict[str, Callable[[Path], dict[str, Any]]] = {
    # The shipped default: events held in memory (up to 100,000), read 100 at a time.
    "memory": lambda directory: {"type": "memory", "read_records_count": 100, "max_records_count": 100000},
    # SQLite files under the config folder (the path must end in a slash), the shipped TTLs.
    "sqlite": lambda directory: {
        "type": "sqlite",
        "data_file_path": f"{directory / 'data'}/",
        "messages_ttl_check_in_hours": 1,
        "messages_ttl_in_days": 7,
    },
}


@dataclass
class Figures:
    """One process's run at one load."""

    peak_rss_mb: float
    rss_end_mb: float
    cpu_share: float
    values_per_s: float
    expected_values_per_s: float
    notes: dict[str, float] = field(default_factory=dict)

    @property
    def keeps_up(self) -> bool:
        """Delivered at least 97 % of what the devices offer (the window's edges cost a poll)."""
        return self.values_per_s >= 0.97 * self.expected_values_per_s


def ensure_gateway() -> Path:
    """The gateway's python, installing the pinned version into its own venv the first time."""
    python = PEER / "bin" / "python"
    wanted = {"thingsboard-gateway": GATEWAY_VERSION, "pymodbus": GATEWAY_EXTRAS[0].split("==")[1]}
    if python.exists() and _installed(python, list(wanted)) == wanted:
        return python
    print(
        f"installing thingsboard-gateway {GATEWAY_VERSION} (and {', '.join(GATEWAY_EXTRAS)}) into "
        f"{PEER.relative_to(Path.cwd()) if PEER.is_relative_to(Path.cwd()) else PEER} (gitignored: "
        "a venv of its own, never a dependency of the project)",
        flush=True,
    )
    subprocess.run([sys.executable, "-m", "venv", str(PEER)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"thingsboard-gateway=={GATEWAY_VERSION}",
            *GATEWAY_EXTRAS,
        ],
        check=True,
    )
    found = _installed(python, list(wanted))
    if found != wanted:
        raise RuntimeError(f"the gateway's venv has {found}, not {wanted}")
    return python


def ensure_agent() -> Path:
    """The agent's python in a venv of its runtime dependencies, this tree installed afresh."""
    python = AGENT / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(AGENT)], check=True)
    # A local folder is built and installed again each time, so the venv runs this tree. Its
    # build/ goes first: setuptools would put modules since removed from the tree, left there
    # by an earlier build, into the wheel.
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(ROOT)], check=True)
    stray = {n: v for n, v in _installed(python, ["numpy", "pytest", "matplotlib"]).items() if v}
    if stray:
        raise RuntimeError(f"the agent's venv holds more than its runtime dependencies: {stray}")
    return python


def _installed(python: Path, names: list[str]) -> dict[str, str | None]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try:\n"
        "        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
    )
    out = subprocess.run([str(python), "-c", code, *names], check=True, capture_output=True, text=True).stdout
    found: dict[str, str | None] = json.loads(out)
    return found


def modbus_devices(config: Path) -> list[dict[str, Any]]:
    """The agent's ``[[devices.modbus]]`` entries: the devices the gateway polls too."""
    devices: list[dict[str, Any]] = tomllib.loads(config.read_text())["devices"]["modbus"]
    return devices


def write_gateway_config(
    directory: Path, broker_port: int, devices: list[dict[str, Any]], storage: str = "memory"
) -> Path:
    """tb_gateway.json, the Modbus connector's file and logs.json; returns tb_gateway.json.

    Written from the gateway's documentation and source (its shipped tb_gateway.json and
    modbus.json as the example), not copied: the general settings are the shipped ones
    except the server, which is the loopback broker (the broker takes any token).
    """
    directory.mkdir(parents=True, exist_ok=True)
    general = {
        "thingsboard": {
            "host": LOOPBACK,
            "port": broker_port,
            "remoteShell": False,
            # Remote configuration is a dialogue with ThingsBoard in shared attributes: on a plain
            # broker the gateway gets its own client attributes back as if the server had sent
            # them, takes them for a new connector configuration and restarts its connectors.
            "remoteConfiguration": False,
            "latencyDebugMode": False,
            "statistics": {
                "enable": True,
                "statsSendPeriodInSeconds": 60,
                "customStatsSendPeriodInSeconds": 3600,
            },
            "deviceFiltering": {"enable": False, "filterFile": "list.json"},
            "maxPayloadSizeBytes": 8196,
            "minPackSendDelayMS": 50,
            "minPackSizeToSend": 500,
            "checkConnectorsConfigurationInSeconds": 60,
            "handleDeviceRenaming": True,
            "security": {"type": "accessToken", "accessToken": "bench-school"},
            "qos": 1,
            "reportStrategy": {"type": "ON_RECEIVED"},
            "checkingDeviceActivity": {
                "checkDeviceInactivity": False,
                "inactivityTimeoutSeconds": 300,
                "inactivityCheckPeriodSeconds": 10,
            },
            # On a host that is not ThingsBoard's cloud these mean no client-side limit.
            "rateLimits": "DEFAULT_TELEMETRY_RATE_LIMIT",
            "dpRateLimits": "DEFAULT_TELEMETRY_DP_RATE_LIMIT",
            "messagesRateLimits": "DEFAULT_MESSAGES_RATE_LIMIT",
            "deviceMessagesRateLimits": "DEFAULT_MESSAGES_RATE_LIMIT",
            "deviceRateLimits": "DEFAULT_TELEMETRY_RATE_LIMIT",
            "deviceDpRateLimits": "DEFAULT_TELEMETRY_DP_RATE_LIMIT",
        },
        "storage": STORAGES[storage](directory),
        "grpc": {"enabled": False},
        "connectors": [{"type": "modbus", "name": "Modbus", "configuration": "modbus.json"}],
    }
    slaves = [
        {
            "host": device["host"],
            "port": device["port"],
            "type": "tcp",
            "method": "socket",
            "unitId": device["unit"],
            "deviceName": device["name"],
            "deviceType": "bench_meter",
            "timeout": 5,
            # The simulated meter serves float32 big-endian, high word first (ABCD).
            "byteOrder": "BIG",
            "wordOrder": "BIG",
            "retries": 3,
            "pollPeriod": int(INTERVAL_S * 1000),
            "connectAttemptTimeMs": 5000,
            "connectAttemptCount": 5,
            "waitAfterFailedAttemptsMs": 300000,
            "attributes": [],
            # One "wide range" entry: the 40 registers in one read (maxRegistersPerRequest),
            # decoded as 20 float32 values named by address, as the agent reads bench-40.
            "timeseries": [
                {
                    "tag": "value_${address}",
                    "type": "32float",
                    "functionCode": 4,
                    "address": f"0-{2 * VALUES - 1}",
                    "objectsCount": 2,
                    "maxRegistersPerRequest": 2 * VALUES,
                }
            ],
            "attributeUpdates": [],
            "rpc": [],
        }
        for device in devices
    ]
    # As the agent in the footprint (level "warning"): the gateway's loggers at WARNING, to one
    # file; the rest (pymodbus' among them) at ERROR, as the shipped logs.json has it.
    loggers = ["service", "connector", "converter", "tb_connection", "storage", "extension", "database"]
    logs = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [%(name)s] %(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "plain",
                "filename": str(directory / "gateway.log"),
            }
        },
        "loggers": {name: {"handlers": ["file"], "level": "WARNING", "propagate": False} for name in loggers},
        "root": {"level": "ERROR", "handlers": ["file"]},
    }
    (directory / "modbus.json").write_text(json.dumps({"master": {"slaves": slaves}}, indent=1))
    (directory / "logs.json").write_text(json.dumps(logs, indent=1))
    (directory / "tb_gateway.json").write_text(json.dumps(general, indent=1))
    return directory / "tb_gateway.json"


class ThingsBoardSide:
    """What the gateway expects of ThingsBoard on the broker, and the count of what it sends.

    At connect the gateway asks ThingsBoard for its session limits (an RPC, ``getSessionLimits``)
    and sends no telemetry until it has an answer; this answers it as a server whose tenant
    sets no rate limits (64 KiB payloads, 100 messages in flight: ThingsBoard's MQTT transport
    defaults). Then it counts the values reaching the gateway API's telemetry topic, by arrival.
    """

    TELEMETRY = "v1/gateway/telemetry"
    RPC_REQUEST = "v1/devices/me/rpc/request/"
    RPC_RESPONSE = "v1/devices/me/rpc/response/"
    LIMITS: ClassVar[dict[str, Any]] = {
        "maxPayloadSize": 65536,
        "maxInflightMessages": 100,
        "rateLimits": {"messages": "", "telemetryMessages": "", "telemetryDataPoints": ""},
        "gatewayRateLimits": {"messages": "", "telemetryMessages": "", "telemetryDataPoints": ""},
    }

    def __init__(self, port: int) -> None:
        self.port = port
        self.arrivals: list[tuple[float, int]] = []  # (monotonic, values in the message)
        self.devices: set[str] = set()
        self.limits_asked = 0
        self.first: bytes | None = None  # the first telemetry message, kept beside the gateway's logs
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self.subscribed.wait(15):
            raise RuntimeError("the ThingsBoard side did not subscribe")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def values_between(self, start: float, end: float) -> tuple[int, int]:
        """(values, messages) that arrived in ``(start, end]`` (monotonic seconds)."""
        inside = [n for t, n in list(self.arrivals) if start < t <= end]
        return sum(inside), len(inside)

    async def _run(self) -> None:
        async with aiomqtt.Client(LOOPBACK, self.port, identifier="bench-thingsboard-side") as client:
            await client.subscribe(self.TELEMETRY, qos=0)
            await client.subscribe(self.RPC_REQUEST + "+", qos=1)
            self.subscribed.set()
            while not self._stop.is_set():
                try:
                    async with asyncio.timeout(0.5):
                        message = await anext(client.messages)
                except TimeoutError:
                    continue
                topic = message.topic.value
                if topic == self.TELEMETRY:
                    self.first = self.first or bytes(message.payload)
                    self._count(bytes(message.payload))
                elif topic.startswith(self.RPC_REQUEST):
                    request = json.loads(bytes(message.payload))
                    if request.get("method") == "getSessionLimits":
                        self.limits_asked += 1
                        request_id = topic.removeprefix(self.RPC_REQUEST)
                        await client.publish(self.RPC_RESPONSE + request_id, json.dumps(self.LIMITS), qos=1)

    def _count(self, payload: bytes) -> None:
        # {"device": [{"ts": ..., "values": {...}}, ...]} (or one entry without the list)
        values = 0
        for device, entries in json.loads(payload).items():
            self.devices.add(device)
            for entry in entries if isinstance(entries, list) else [entries]:
                values += len(entry.get("values", {}))
        self.arrivals.append((time.monotonic(), values))


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def _address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    raw = bytes.fromhex(hex_address.split(":")[0])
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw[::-1])
    # /proc shows IPv6 as four host-order 32-bit words.
    return ipaddress.IPv6Address(b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))


def remote_peers(pid: int) -> set[str]:
    """Addresses beyond loopback that a process's TCP and UDP sockets are connected to."""
    inodes = _socket_inodes(pid)
    beyond = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            columns = line.split()
            if columns[9] not in inodes:
                continue
            remote = _address(columns[2])
            # ::ffff:127.0.0.1 is loopback too
            if isinstance(remote, ipaddress.IPv6Address) and remote.ipv4_mapped is not None:
                remote = remote.ipv4_mapped
            if not (remote.is_loopback or remote.is_unspecified):
                beyond.add(str(remote))
    return beyond


def _sample(pid: int, seconds: float, guard: bool) -> tuple[float, float, float, float]:
    """Sleep ``seconds`` (checking the sockets every 10 s with ``guard``); (cpu0, t0, cpu1, t1)."""
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    while time.monotonic() - t0 < seconds:
        time.sleep(min(10.0, max(0.0, seconds - (time.monotonic() - t0))))
        if guard and (beyond := remote_peers(pid)):
            raise RuntimeError(f"the gateway talks to {sorted(beyond)}, beyond loopback: stopped")
    return cpu0, t0, cpu_seconds(pid), time.monotonic()


def stored_values(store_url: str, start_wall: float, end_wall: float) -> int:
    """Values of the meters the store holds with timestamps in ``(start, end]`` (wall seconds)."""
    urllib.request.urlopen(f"{store_url}/internal/force_flush", timeout=30).read()
    window_ms = round((end_wall - start_wall) * 1000)
    query = urllib.parse.urlencode(
        {
            "query": f'sum(count_over_time({{__name__=~"bench_meter_value_.*"}}[{window_ms}ms]))',
            "time": f"{end_wall:.3f}",
        }
    )
    with urllib.request.urlopen(f"{store_url}/api/v1/query?{query}", timeout=60) as response:
        result = json.loads(response.read())["data"]["result"]
    return int(float(result[0]["value"][1])) if result else 0


def measure_agent(python: Path, site: Campus, devices: int, seconds: float) -> Figures:
    """The agent on the campus's meters into VictoriaMetrics (its /metrics read at start and end)."""
    agent = AgentProcess(site.config, python)
    agent.start()
    assert agent.process is not None
    pid = agent.process.pid
    try:
        up = wait_until_answering(site.listen, site.devices)
        # One interval more: every device has been polled and sent at least once.
        time.sleep(INTERVAL_S)
        start = scrape(site.listen)
        wall0 = time.time()
        cpu0, t0, cpu1, t1 = _sample(pid, seconds, guard=False)
        wall1 = wall0 + (t1 - t0)
        end = scrape(site.listen)
        peak, rss_end = peak_rss_mb(pid), rss_mb(pid)
        # What was polled in the window and is in flight still counts: a few seconds to land.
        time.sleep(5)
    finally:
        agent.stop(timeout=60)
    stored = stored_values(site.store.url, wall0, wall1)

    def total(name: str, metrics: dict[str, dict[tuple[str, ...], float]]) -> float:
        return sum(metrics.get(name, {}).values())

    return Figures(
        peak_rss_mb=peak,
        rss_end_mb=rss_end,
        cpu_share=(cpu1 - cpu0) / (t1 - t0),
        values_per_s=stored / (t1 - t0),
        expected_values_per_s=devices * VALUES / INTERVAL_S,
        notes={
            "devices up": float(up),
            "missed polls": total("edge_agent_device_overruns_total", end)
            - total("edge_agent_device_overruns_total", start),
            "failed polls": total("edge_agent_device_poll_errors_total", end)
            - total("edge_agent_device_poll_errors_total", start),
        },
    )


@contextlib.contextmanager
def gateway_process(python: Path, work: Path, config: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The gateway running from its own venv in ``work``; SIGINT (its own stop) on the way out."""
    # Its environment variables can override the server and credentials (TB_GW_*): none of ours.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TB_", "VIRTUAL_ENV"))}
    update_url = f"http://{LOOPBACK}:{free_port()}"  # nothing listens there: refused at once
    with (work / "gateway.stdout").open("ab") as out:
        process = subprocess.Popen(
            [str(python), "-c", LAUNCHER, str(config), update_url], cwd=work, stdout=out, stderr=out, env=env
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def measure_gateway(
    python: Path, site: Campus, work: Path, seconds: float, storage: str = "memory"
) -> Figures:
    """The gateway on the same meters into the campus's broker."""
    devices = modbus_devices(site.config)
    config = write_gateway_config(work / "config", site.broker.port, devices, storage)
    counter = ThingsBoardSide(site.broker.port)
    counter.start()
    try:
        with gateway_process(python, work, config) as process:
            pid = process.pid
            # Until every device has sent once (or 4 minutes), checking its sockets meanwhile.
            deadline = time.monotonic() + 240
            while len(counter.devices) < len(devices) and time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(f"the gateway exited ({process.returncode}); see {work}")
                if beyond := remote_peers(pid):
                    raise RuntimeError(f"the gateway talks to {sorted(beyond)}, beyond loopback: stopped")
                time.sleep(2)
            seen = len(counter.devices)
            time.sleep(INTERVAL_S)
            cpu0, t0, cpu1, t1 = _sample(pid, seconds, guard=True)
            peak, rss_end = peak_rss_mb(pid), rss_mb(pid)
            threads = len(list(Path(f"/proc/{pid}/task").iterdir()))
        values, messages = counter.values_between(t0, t1)
    finally:
        counter.stop()
        if counter.first is not None:
            (work / "first-telemetry.json").write_bytes(counter.first)
    return Figures(
        peak_rss_mb=peak,
        rss_end_mb=rss_end,
        cpu_share=(cpu1 - cpu0) / (t1 - t0),
        values_per_s=values / (t1 - t0),
        expected_values_per_s=len(devices) * VALUES / INTERVAL_S,
        notes={
            "devices seen": float(seen),
            "messages/s": messages / (t1 - t0),
            "threads": float(threads),
            "session limits asked": float(counter.limits_asked),
        },
    )


def compare(
    pythons: tuple[Path, Path],
    devices: int,
    seconds: float,
    keep: Path | None = None,
    storage: str = "memory",
) -> tuple[Figures, Figures]:
    """The agent, then the gateway, on one simulated campus of ``devices`` meters."""
    with contextlib.ExitStack() as stack:
        if keep is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        else:
            work = keep / f"{devices}-devices"
            work.mkdir(parents=True, exist_ok=True)
        site = stack.enter_context(campus(work, modbus=devices, switches=0, sensors=0))
        agent = measure_agent(pythons[0], site, devices, seconds)
        # The agent's connections closed; the simulators settle before the next process.
        time.sleep(5)
        gateway = measure_gateway(pythons[1], site, work / "thingsboard", seconds, storage)
    return agent, gateway


def report(devices: int, seconds: float, agent: Figures, gateway: Figures) -> None:
    print(
        f"\n{devices} Modbus devices x {VALUES} float32 values (one read) every {INTERVAL_S:g} s, "
        f"{seconds:g} s each"
    )
    print(f"  {'':<34}{'agent':>12}{'TB gateway':>14}{'agent/gateway':>15}")
    rows = [
        ("peak RSS (VmHWM), MB", agent.peak_rss_mb, gateway.peak_rss_mb, 1),
        ("RSS at the end, MB", agent.rss_end_mb, gateway.rss_end_mb, 1),
        ("CPU share of one core", agent.cpu_share, gateway.cpu_share, 4),
        ("values delivered per second", agent.values_per_s, gateway.values_per_s, 1),
    ]
    for name, mine, theirs, digits in rows:
        ratio = f"{mine / theirs:.2f}" if theirs else "-"
        print(f"  {name:<34}{mine:>12,.{digits}f}{theirs:>14,.{digits}f}{ratio:>15}")
    print(f"  {'values offered per second':<34}{agent.expected_values_per_s:>12,.1f}")
    for label, figures in (("agent", agent), ("TB gateway", gateway)):
        notes = ", ".join(
            f"{k} {v:,.1f}" if k == "messages/s" else f"{k} {v:,.0f}" for k, v in figures.notes.items()
        )
        keeps = "keeps up" if figures.keeps_up else "DOES NOT keep up: not a comparison at this load"
        print(f"  {label}: {keeps}; {notes}")
    if agent.keeps_up and gateway.keeps_up:
        verdict = "at most" if agent.peak_rss_mb <= gateway.peak_rss_mb else "MORE than"
        print(f"  memory goal (issue #32): the agent's peak RSS is {verdict} the gateway's at this load")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, nargs="+", default=[1000], help="meters; several run in turn")
    parser.add_argument("--seconds", type=float, default=300, help="measured seconds of each process")
    parser.add_argument(
        "--storage",
        choices=sorted(STORAGES),
        default="memory",
        help="the gateway's storage: memory (its shipped default) or sqlite (on disk, as the agent's buffer)",
    )
    parser.add_argument("--keep", type=Path, help="keep every config and log under this folder")
    args = parser.parse_args(argv)
    python = ensure_gateway()
    agent_python = ensure_agent()
    print(
        f"ThingsBoard IoT Gateway {GATEWAY_VERSION} ({python}), {args.storage} storage; "
        f"the agent as installed in {agent_python}; {os.cpu_count()} cores",
        flush=True,
    )
    for devices in args.devices:
        agent, gateway = compare((agent_python, python), devices, args.seconds, args.keep, args.storage)
        report(devices, args.seconds, agent, gateway)
    return 0


if __name__ == "__main__":
    sys.exit(main())
