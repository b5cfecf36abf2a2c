"""The city side of ``edge-agent demo``: the store, vmalert with the central rules, the console.

Each is a process of its own, started beside the demo's state and stopped with it. The
console (``campus-ops console``) is where a newcomer looks first; vmalert's own pages are
unstyled and Debian's VictoriaMetrics has no vmui, so the view names the console.

vmalert evaluates copies of ``deploy/central/rules`` whose groups run every
:data:`RULES_INTERVAL`, written beside the state: the rule files' own intervals (1 and 5
minutes) plus vmalert's start-up spread (up to one interval) and its alignment of each
evaluation to the interval would keep the roll-ups empty for the demo's first 5-8 minutes.
Every alert keeps its meaning: the time an alert waits is in its expression, not in ``for:``.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

STORE_PORT = 8428
ALERTS_PORT = 8880  # vmalert: its UI and /api/v1/alerts
CONSOLE_PORT = 8090  # campus-ops console
RULES_DIR = Path(__file__).resolve().parents[1] / "deploy" / "central" / "rules"
#: How often the demo's vmalert evaluates every rule group.
RULES_INTERVAL = "15s"
_GROUP_INTERVAL = re.compile(r"^(\s+)interval:\s*\S+\s*$", re.MULTILINE)

Waiter = Callable[[asyncio.subprocess.Process, int, str, Path], Awaitable[None]]


class CityError(Exception):
    """A part of the city side cannot start; the message says what to do (the demo's
    ``DemoError`` is one, raised by the ``listening`` waiter it passes in)."""


def store_url() -> str:
    """The demo store's URL."""
    return f"http://127.0.0.1:{STORE_PORT}"


async def start_store(state_dir: Path, listening: Waiter) -> asyncio.subprocess.Process:
    """VictoriaMetrics on :data:`STORE_PORT`, its data under ``state_dir/store``."""
    binary = shutil.which("victoria-metrics")
    if binary is None:
        raise CityError(
            "victoria-metrics is not installed: run `make demo` (it installs it), "
            "or `edge-agent demo --no-store` to keep readings in the local buffer"
        )
    process = await asyncio.create_subprocess_exec(
        binary,
        f"-httpListenAddr=127.0.0.1:{STORE_PORT}",
        f"-storageDataPath={state_dir / 'store'}",
        "-search.latencyOffset=0s",
        "-loggerLevel=WARN",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=(state_dir / "store.log").open("ab"),
        start_new_session=True,
    )
    await listening(process, STORE_PORT, "victoria-metrics", state_dir / "store.log")
    return process


def demo_rules(folder: Path) -> list[Path]:
    """Copies of the central rule files in ``folder``, every group at :data:`RULES_INTERVAL`."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        copy = folder / path.name
        text = path.read_text(encoding="utf-8")
        copy.write_text(_GROUP_INTERVAL.sub(rf"\1interval: {RULES_INTERVAL}", text), encoding="utf-8")
        copies.append(copy)
    return copies


async def start_vmalert(
    state_dir: Path, listening: Waiter, busy: Callable[[int], bool]
) -> tuple[asyncio.subprocess.Process | None, str]:
    """vmalert with the central rules beside the demo store; the view's line about it.

    The demo has no Alertmanager: notifications go to a port where none listens (vmalert
    logs that into vmalert.log) and the alerts are seen in the console and in the store's
    ALERTS series, which vmalert writes back.
    """
    binary = shutil.which("vmalert")
    if binary is None:
        return None, "alerts: vmalert is not installed (Debian's victoria-metrics has it): no alerts"
    rules = demo_rules(state_dir / "rules")
    if not rules:
        return None, f"alerts: no rule files in {RULES_DIR}: no alerts"
    if busy(ALERTS_PORT):
        return None, f"alerts: port {ALERTS_PORT} is in use: vmalert not started"
    process = await asyncio.create_subprocess_exec(
        binary,
        *(f"-rule={path}" for path in rules),
        f"-datasource.url={store_url()}",
        f"-remoteWrite.url={store_url()}",
        f"-remoteRead.url={store_url()}",
        "-remoteWrite.flushInterval=1s",
        "-notifier.url=http://127.0.0.1:9093",
        f"-httpListenAddr=127.0.0.1:{ALERTS_PORT}",
        "-loggerLevel=WARN",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=(state_dir / "vmalert.log").open("ab"),
        start_new_session=True,
    )
    await listening(process, ALERTS_PORT, "vmalert", state_dir / "vmalert.log")
    return process, f"alerts: rules every {RULES_INTERVAL}, API http://127.0.0.1:{ALERTS_PORT}/api/v1/alerts"


async def start_console(
    state_dir: Path, listening: Waiter, busy: Callable[[int], bool], alerting: bool
) -> tuple[asyncio.subprocess.Process | None, str]:
    """``campus-ops console`` on :data:`CONSOLE_PORT`; the view's line about it."""
    if busy(CONSOLE_PORT):
        return None, f"console: port {CONSOLE_PORT} is in use: the console is not started"
    vmalert = [f"--vmalert=http://127.0.0.1:{ALERTS_PORT}"] if alerting else []
    log = state_dir / "console.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "campus_ops",
        "console",
        f"--store={store_url()}",
        *vmalert,
        f"--listen=127.0.0.1:{CONSOLE_PORT}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log.open("ab"),
        start_new_session=True,
    )
    try:
        await listening(process, CONSOLE_PORT, "campus-ops console", log)
    except CityError as exc:  # the demo goes on without it, and says so
        if process.returncode is None:
            process.terminate()
            await process.wait()
        return None, f"console: {exc}"
    return process, f"http://127.0.0.1:{CONSOLE_PORT}/"
