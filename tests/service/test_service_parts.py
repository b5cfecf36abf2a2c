"""The small parts of the service, each against the real thing it talks to (a socket, a file)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path

import pytest

from edge_agent import logs
from edge_agent.buffer import BufferStats, SinkBacklog
from edge_agent.config import load
from edge_agent.config.credentials import expand
from edge_agent.health import problems, report
from edge_agent.status import AgentStatus, DeviceStatus, SinkStatus
from edge_agent.statusview import health_url, render
from edge_agent.systemd import Notifier, keep_alive, watchdog_period

from .helpers import NotifySocket


def test_notifier_sends_to_a_path_socket() -> None:
    listener = NotifySocket()
    try:
        notifier = Notifier(listener.path)
        notifier.ready("devices 1 up")
        notifier.reloading()
        notifier.stopping()
        notifier.close()
        sent = listener.receive()
        assert len(sent) == 3
        assert sent[0]["READY"] == "1" and sent[0]["STATUS"] == "devices 1 up"
        assert sent[0]["MAINPID"] == str(os.getpid())
        assert sent[1]["RELOADING"] == "1" and int(sent[1]["MONOTONIC_USEC"]) > 0
        assert sent[2]["STOPPING"] == "1"
    finally:
        listener.close()


def test_notifier_sends_to_an_abstract_socket() -> None:
    name = f"edge-agent-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        assert Notifier("@" + name).send("WATCHDOG=1")
        assert sock.recv(100) == b"WATCHDOG=1"


def test_without_systemd_nothing_is_sent_and_nothing_fails() -> None:
    notifier = Notifier("")
    assert not notifier.enabled and not notifier.send("READY=1")
    gone = Notifier("/nonexistent/notify.sock")
    assert gone.enabled and not gone.send("READY=1")  # logged once, never raised


def test_watchdog_period_is_half_of_what_systemd_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_period() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_period() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert watchdog_period() is None
    monkeypatch.setenv("WATCHDOG_USEC", "0")
    assert watchdog_period() is None


async def test_a_stalled_loop_stops_the_watchdog_pings() -> None:
    listener = NotifySocket()
    pinging = asyncio.create_task(keep_alive(Notifier(listener.path), lambda: "ok", 0.05))
    try:
        await asyncio.sleep(0.3)
        before = len(listener.with_key("WATCHDOG"))
        assert before >= 2
        time.sleep(0.5)  # noqa: ASYNC251 - a stalled loop is what the watchdog is there to catch
        assert len(listener.with_key("WATCHDOG")) == before
        await asyncio.sleep(0.3)
        assert len(listener.with_key("WATCHDOG")) > before
        assert [m["STATUS"] for m in listener.with_key("STATUS")] == ["ok"]  # sent once, while unchanged
    finally:
        pinging.cancel()
        await asyncio.gather(pinging, return_exceptions=True)
        listener.close()


def test_credentials_directory_is_systemds_or_secrets_beside_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert expand("${CREDENTIALS_DIRECTORY}/influxdb.token", tmp_path) == f"{tmp_path}/secrets/influxdb.token"
    assert expand("/etc/edge-agent/secrets/t", tmp_path) == "/etc/edge-agent/secrets/t"
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", "/run/credentials/edge-agent.service")
    assert expand("$CREDENTIALS_DIRECTORY/t", tmp_path) == "/run/credentials/edge-agent.service/t"


def test_a_conf_d_drop_in_names_credentials_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = tmp_path / "run-credentials"
    credentials.mkdir()
    (credentials / "city.token").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    (tmp_path / "agent.toml").write_text('[agent]\nschool = "sh-test"\n')
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "store.toml").write_text(
        '[[sinks.influxdb]]\nurl = "http://127.0.0.1:8086"\nbucket = "b"\n'
        'token_file = "${CREDENTIALS_DIRECTORY}/city.token"\n'
    )
    sink = load(tmp_path / "agent.toml").config.sinks.influxdb[0]
    assert sink.token_file == credentials / "city.token" and sink.resolve_token() == "s3cret"


def status_with(devices: list[DeviceStatus], sinks: list[SinkStatus], started_ms: int) -> AgentStatus:
    status = AgentStatus(started_ms=started_ms)
    status.devices = {d.name: d for d in devices}
    status.sinks = {s.name: s for s in sinks}
    return status


def test_health_problems_name_the_failing_sink_and_silent_devices() -> None:
    now = 1_000_000_000
    up = DeviceStatus("a", "modbus", 10, polls=3, last_ok_ms=now)
    down = DeviceStatus("b", "modbus", 10, polls=3, failures=3, consecutive_failures=3)
    waiting = DeviceStatus("c", "modbus", 10)
    failing = SinkStatus(
        "city",
        "http://tsdb:8086",
        consecutive_failures=4,
        last_ok_ms=now - 400_000,
        last_error="cannot reach http://tsdb:8086",
    )
    healthy = status_with([up, down, waiting], [failing], now - 10**7)
    assert problems(healthy, 500, now) == []
    assert problems(healthy, 300, now) == [
        "sink city (http://tsdb:8086) has failed for 400s: cannot reach http://tsdb:8086"
    ]
    silent = status_with([down, waiting], [], now - 1000)
    assert problems(silent, 300, now) == ["no device answers (1 polled)"]
    starting = status_with([waiting], [SinkStatus("city", "u")], now)
    assert problems(starting, 300, now) == []  # nothing polled yet: not unhealthy


def test_status_view_reads_like_a_summary(tmp_path: Path) -> None:
    (tmp_path / "agent.toml").write_text('[agent]\nschool = "sh-031"\n')
    config = load(tmp_path / "agent.toml").config
    now = 1_000_000_000
    status = status_with(
        [
            DeviceStatus("a301-iaq", "modbus", 10, polls=12, last_ok_ms=now, last_latency_s=0.012),
            DeviceStatus(
                "lab-meter",
                "modbus",
                10,
                polls=5,
                failures=5,
                consecutive_failures=5,
                last_error="no answer from 10.31.5.40:502 within 3s",
            ),
        ],
        [
            SinkStatus(
                "city",
                "https://tsdb",
                sent_points=120,
                consecutive_failures=2,
                last_ok_ms=now - 3_725_000,
                last_error="https://tsdb answered 503: busy",
            )
        ],
        now - 7_384_000,
    )
    backlog = [SinkBacklog("city", 3, 240, 4096, now - 65_000)]
    status.buffer = BufferStats(3, 240, 4096, backlog, {"dropped:city": 0})
    body = json.loads(json.dumps(report(status, config, now)))
    assert body["status"] == "unhealthy"
    assert render(body).splitlines() == [
        "edge-agent 0.1.0 for sh-031/main: UNHEALTHY, up 2h03m, 0 reload(s)",
        "  ! sink city (https://tsdb) has failed for 3725s: https://tsdb answered 503: busy",
        "devices: 1 of 2 answering",
        "  a301-iaq             up      polls 12      errors 0     latency 12ms",
        "  lab-meter            DOWN    polls 5       errors 5     no answer from 10.31.5.40:502 within 3s",
        "sinks: 1",
        "  city                 FAILING for 1h02m: sent 120, 240 waiting (oldest 1m05s old), dead-lettered 0",
        "    last error: https://tsdb answered 503: busy",
        "buffer: 240 points on disk (4KiB), 0 dropped when full",
    ]


def test_status_asks_wildcard_listeners_on_loopback() -> None:
    assert health_url("0.0.0.0:9273") == "http://127.0.0.1:9273/healthz"
    assert health_url("[::]:9273") == "http://[::1]:9273/healthz"
    assert health_url("[::1]:9000") == "http://[::1]:9000/healthz"


def test_secret_keys_are_blanked_in_any_log_call() -> None:
    event = {"event": "connecting", "token": "abc123", "community": "private", "user": "edge"}
    assert logs.redact_secrets(None, "info", event) == {
        "event": "connecting",
        "token": "[redacted]",
        "community": "[redacted]",
        "user": "edge",
    }


def test_journald_is_recognised_by_its_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (tmp_path / "log").open("w") as stream:
        info = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
        assert logs.under_journald(stream)
        monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino + 1}")
        assert not logs.under_journald(stream)
