"""``edge-agent demo``: a simulated campus, a local store and the agent, with a live view.

It runs ``configs/demo/agent.toml`` as it is: the simulators on their default ports, a
VictoriaMetrics on 127.0.0.1:8428 as the city store, the agent in this process, and a
terminal view of what flows until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

from campus_core.clock import now_ms

from . import logs
from .agent import Agent
from .config import ConfigError, load
from .demo_city import (
    ALERTS_PORT,
    CONSOLE_PORT,
    RULES_DIR,
    STORE_PORT,
    CityError,
    start_console,
    start_store,
    start_vmalert,
)
from .demo_keys import CONTROL_PORT, STOPPABLE, Keys
from .status import AgentStatus, DeviceStatus

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "demo" / "agent.toml"
SIM_PORTS = range(15020, 15027)  # Modbus TCP
SNMP_PORTS = range(15030, 15032)  # UDP: the switch and the UPS
BROKER_PORT = 15040
OPCUA_PORTS = range(15050, 15052)  # OPC UA: a umati lathe and a PLC rig
BACNET_PORT = 15060  # BACnet/IP: an AHU on 127.0.1.1, VAV boxes on 127.0.2.1-3 (UDP)
BACNET_AGENT_PORT = 15069  # the agent's own BACnet endpoint on 127.0.0.1 (UDP)
# The city side's ports and rules live in demo_city; tests and bench.series read them here.
__all__ = ["ALERTS_PORT", "CONSOLE_PORT", "RULES_DIR", "STORE_PORT", "run_demo"]
#: The simulated clock starts on a school-day morning, so the demo shows lessons and running
#: machines whatever the hour it is run at.
SIM_START = "2026-09-08T09:40:00"


def run_demo(state_dir: Path, store: bool = True, duration: float | None = None) -> int:
    """Run the demo; returns the exit code."""
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(_demo(state_dir, store, duration, broker_command(state_dir)))
    except CityError as exc:  # DemoError too
        print(f"edge-agent demo: {exc}", file=sys.stderr)
        return 1


class DemoError(CityError):
    """The demo cannot start; the message says what to do."""


async def _demo(state_dir: Path, store: bool, duration: float | None, broker: list[str] | None) -> int:
    busy = [
        p
        for p in ([STORE_PORT] if store else []) + [*SIM_PORTS, BROKER_PORT, *OPCUA_PORTS, CONTROL_PORT]
        if _port_busy(p)
    ]
    busy += [p for p in (*SNMP_PORTS, BACNET_AGENT_PORT) if _udp_busy(p)]
    if busy:
        raise DemoError(
            f"port(s) {', '.join(map(str, busy))} on 127.0.0.1 are in use: "
            "stop what uses them (an earlier demo?) and try again"
        )
    try:
        loaded = load(DEMO_CONFIG)
    except ConfigError as exc:
        raise DemoError(str(exc)) from None
    # The buffer lives with the rest of the demo's state (the config's own state_dir is
    # the same place when the demo runs from the repository with its defaults).
    loaded.config.agent.state_dir = state_dir / "agent"
    if not store:
        loaded.config.sinks.influxdb.clear()  # the demo config has only this kind
    # The view owns the terminal; the agent's log goes to a file beside the state.
    log_path = state_dir / "agent.log"
    log_file = open(log_path, "a", encoding="utf-8")  # noqa: ASYNC230, SIM115 - closed in finally
    sys.stderr = log_file
    logs.configure("info", "json")

    processes: list[asyncio.subprocess.Process] = []
    keys = Keys(loop := asyncio.get_running_loop(), CONTROL_PORT)
    agent = Agent(loaded)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, agent.stop)
    try:
        processes.append(await _start_broker(state_dir, broker))
        processes.append(await _start_simulators(state_dir))
        alerting = console = None
        if store:
            processes.append(await start_store(state_dir, _listening))
            vmalert, alerting = await start_vmalert(state_dir, _listening, _port_busy)
            web, console = await start_console(state_dir, _listening, _port_busy, vmalert is not None)
            processes += [p for p in (vmalert, web) if p is not None]
        running = asyncio.create_task(agent.run(), name="agent")
        keys.listen()
        view = asyncio.create_task(_view(agent.status, store, log_path, alerting, console, keys), name="view")
        if duration is not None:
            loop.call_later(duration, agent.stop)
        await running
        view.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await view
    finally:
        keys.close()
        for process in processes:
            if process.returncode is None:
                process.terminate()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(10):
                        await process.wait()
        sys.stderr = sys.__stderr__
        log_file.close()
    print(f"demo stopped; the agent's log is in {log_path}")
    return 0


def campus_arguments(
    modbus: int = SIM_PORTS[0],
    snmp: int = SNMP_PORTS[0],
    broker: str = f"mqtt://127.0.0.1:{BROKER_PORT}",
    opcua: int = OPCUA_PORTS[0],
    bacnet: int = BACNET_PORT,
) -> list[str]:
    """``simulators campus``'s arguments for the demo school, on these first ports."""
    return [
        "--base-port",
        str(modbus),
        "--classrooms",
        "3",
        "--meters",
        "2",
        "--machines",
        "2",
        "--sim-start",
        SIM_START,
        "--switches",
        "1",
        "--ups",
        "1",
        "--switch-ports",
        "24",
        "--snmp-port",
        str(snmp),
        "--mqtt-broker",
        broker,
        "--wireless",
        "2",
        "--wireless-interval",
        "2",
        "--opcua-cnc",
        "1",
        "--opcua-rigs",
        "1",
        "--opcua-port",
        str(opcua),
        "--bacnet-ahus",
        "1",
        "--bacnet-vavs",
        "3",
        "--bacnet-port",
        str(bacnet),
    ]


async def _start_simulators(state_dir: Path) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulators",
        "campus",
        *campus_arguments(),
        "--control-port",
        str(CONTROL_PORT),
        stdout=asyncio.subprocess.PIPE,
        stderr=(state_dir / "simulators.log").open("ab"),
        start_new_session=True,  # Ctrl-C goes to the demo, which stops the agent first
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(20):
            while (line := await process.stdout.readline()) and line.strip() != b"ready":
                pass
    except TimeoutError:
        raise DemoError(f"simulators did not start; see {state_dir / 'simulators.log'}") from None
    if process.returncode is not None:
        raise DemoError(f"simulators exited; see {state_dir / 'simulators.log'}")
    return process


def broker_command(state_dir: Path) -> list[str] | None:
    """The demo's Mosquitto command line (its config written beside the state), if installed."""
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/sbin")
    if binary is None:
        return None
    conf = state_dir / "mosquitto.conf"
    # As root Mosquitto would drop to its own user, which cannot read this folder.
    user = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(f"listener {BROKER_PORT} 127.0.0.1\nallow_anonymous true\n{user}")
    return [binary, "-c", str(conf)]


async def _start_broker(state_dir: Path, command: list[str] | None) -> asyncio.subprocess.Process:
    if command is None:
        raise DemoError("mosquitto is not installed: run `make demo` (it installs it)")
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=(state_dir / "mosquitto.log").open("ab"),
        start_new_session=True,
    )
    await _listening(process, BROKER_PORT, "mosquitto", state_dir / "mosquitto.log")
    return process


async def _listening(process: asyncio.subprocess.Process, port: int, name: str, log: Path) -> None:
    """Wait up to 10 s for a server the demo started to listen on ``port``."""
    for _ in range(200):
        if process.returncode is not None:
            raise DemoError(f"{name} exited; see {log}")
        if _port_busy(port):
            return
        await asyncio.sleep(0.05)
    raise DemoError(f"{name} did not start; see {log}")


async def _view(
    status: AgentStatus,
    store: bool,
    log_path: Path,
    alerting: str | None,
    console: str | None,
    keys: Keys,
) -> None:
    acting = asyncio.create_task(keys.serve(), name="keys")
    try:
        while True:
            width = shutil.get_terminal_size((120, 30)).columns
            frame = render(status, store, log_path, width, alerting, console, keys.said)
            sys.stdout.write("\x1b[H\x1b[2J" + frame)
            sys.stdout.flush()
            await asyncio.sleep(1)
    finally:
        acting.cancel()


def render(
    status: AgentStatus,
    store: bool,
    log_path: Path,
    width: int = 120,
    alerting: str | None = None,
    console: str | None = None,
    said: str = "",
) -> str:
    """The live view as text: where to look, devices with their last values, the flow counters."""
    now = now_ms()
    lines = [f"campus-edge-agent demo  {time.strftime('%H:%M:%S')}   (Ctrl-C to stop)"]
    if console and console.startswith("http"):
        lines.append(
            f"look here first, the city console: {console}   (schools, devices, alerts, charts, assets)"
        )
    elif console:
        lines.append(console)
    lines += [
        f"config {_short_path(DEMO_CONFIG)}   log {_short_path(log_path)}",
        "",
        f"{'DEVICE':<12} {'STATE':<6} {'POLLS':>6} {'SENT':>7} {'HELD':>7} {'AGE':>6}  LAST VALUES",
    ]
    for device in status.devices.values():
        lines += [line[: width - 1] for line in _device_lines(device, now)]
    sent = sum(d.fields_sent for d in status.devices.values())
    held = sum(d.fields_suppressed for d in status.devices.values())
    lines += [
        "",
        f"readings  accepted {status.points_accepted}   buffered on disk {status.points_buffered}"
        f"   dropped {status.points_dropped}",
        f"fields    sent {sent}   held back (reported on change, not moved) {held}"
        + (f"   {100 * held / (sent + held):.0f} % held back" if sent + held else ""),
    ]
    for sink in status.sinks.values():
        backlog = status.points_buffered - sink.sent_points
        state = f"failing: {sink.last_error}" if sink.consecutive_failures else "ok"
        lines.append(
            f"sink {sink.name} ({sink.url})  sent {sink.sent_points}  waiting {max(0, backlog)}  {state}"[
                : width - 1
            ]
        )
    if not store:
        lines.append("no store: readings stay in the local buffer (edge-agent buffer tail ...)")
    else:
        lines += [
            "",
            f"press s to stop {STOPPABLE} as if unplugged, s again to start it "
            f"(or: python -m simulators ctl stop {STOPPABLE})",
            "  the console shows it down at its next poll; DeviceDown fires after 10 minutes",
            "  a device with nothing new to send stays up: quiet is not dead",
        ]
        if said:
            lines.append(f"  {said}")
        lines += [
            "query the store:  curl -s 'http://127.0.0.1:8428/api/v1/export?match[]="
            '{school="demo-school"}\' | head',
        ]
        if alerting:
            lines.append(alerting)
    return "\n".join(lines) + "\n"


def _device_lines(device: DeviceStatus, now: int) -> list[str]:
    """One device of the view, and each sensor behind its topic wildcard.

    Its state is its liveness: up while it answers, quiet or not (a device that reports on
    change and has nothing new, a subscription with no notification, a pushed device whose
    session is up); AGE is the time since it last answered.
    """
    alive = device.alive
    state = "up" if alive else ("down" if device.failures or device.last_ok_ms else "...")
    age = f"{(now - device.last_ok_ms) / 1000:.1f}s" if device.last_ok_ms else "-"
    values = " ".join(f"{k}={_short(v)}" for k, v in device.last_fields)
    if device.last_error and not alive:
        values = device.last_error
    lines = [
        f"{device.name:<12} {state:<6} {device.polls:>6} {device.fields_sent:>7} "
        f"{device.fields_suppressed:>7} {age:>6}  {values}"
    ]
    for tags, seen_ms in sorted(device.sensors.items()):
        quiet_s = max(0, now - seen_ms) / 1000
        sensor = "up" if alive and quiet_s < device.stale_after_s else "down"
        where = " ".join(value for _, value in tags)
        lines.append(
            f"  {where:<10} {sensor:<6} {'':>6} {'':>7} {'':>7} {quiet_s:>5.1f}s  (a sensor behind it)"
        )
    return lines


def _short_path(path: Path) -> str:
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) < 1e5 else f"{value:.0f}"
    return str(value)


def _udp_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def _port_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0
