"""sd_notify against a real agent process: READY, WATCHDOG pings and STATUS reach "systemd".

The test binds the datagram socket systemd would, and starts ``edge-agent run`` with
``$NOTIFY_SOCKET`` and ``$WATCHDOG_USEC`` pointing at it, polling the simulated campus.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import SimulatedCampus, wait_for

from .helpers import NotifySocket, ServiceAgent, agent_toml, campus_devices, free_listen, healthz

pytestmark = pytest.mark.integration


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    sock = NotifySocket()
    yield sock
    sock.close()


def test_ready_watchdog_and_status_reach_systemd(
    tmp_path: Path, campus: SimulatedCampus, notify: NotifySocket
) -> None:
    campus.start()
    listen = free_listen()
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(list(campus_devices(campus).values()), listen=listen))
    # WATCHDOG_USEC of 1 s: the agent pings every 0.5 s.
    agent = ServiceAgent(config, {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"})
    agent.start()
    try:
        [ready] = wait_for(lambda: notify.with_key("READY"), 30, what="READY=1")
        assert ready["READY"] == "1" and ready["MAINPID"] == str(agent.pid)
        # READY comes once polling has started: the devices exist and the health listener answers.
        assert healthz(listen) is not None
        assert "devices" in ready["STATUS"]

        wait_for(lambda: len(notify.with_key("WATCHDOG")) >= 4, 30, what="watchdog pings")
        every_up = "devices 4 up, 0 down of 4"
        status = wait_for(
            lambda: [m["STATUS"] for m in notify.with_key("STATUS") if every_up in m["STATUS"]],
            30,
            what="a STATUS with every device up",
        )
        assert "points waiting in the buffer" in status[-1]

        campus.stop()  # every device goes quiet: the status line says so
        wait_for(
            lambda: any("devices 0 up, 4 down of 4" in m["STATUS"] for m in notify.with_key("STATUS")),
            30,
            what="a STATUS with every device down",
        )
        assert agent.stop() == 0
        assert notify.with_key("STOPPING"), "STOPPING=1 on the way out"
        assert all(m["WATCHDOG"] == "1" for m in notify.with_key("WATCHDOG"))
    finally:
        if agent.running():
            agent.kill()


def test_without_notify_socket_the_agent_runs_as_before(tmp_path: Path, campus: SimulatedCampus) -> None:
    campus.start()
    listen = free_listen()
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(list(campus_devices(campus).values())[:1], listen=listen))
    agent = ServiceAgent(config, {"NOTIFY_SOCKET": "", "WATCHDOG_USEC": ""})
    agent.start()
    try:
        wait_for(lambda: (h := healthz(listen)) and h[1]["devices"][0]["up"], 30, what="the device polled")
        assert agent.stop() == 0
        assert "cannot notify systemd" not in agent.log_text()
    finally:
        if agent.running():
            agent.kill()
