"""The health listener and the agent's own metrics, against a real agent, campus and store.

/metrics must parse with prometheus_client's own parser; /healthz turns 503 once the store
has been down past ``health.sink_down_after`` and 200 again when it is back; ``edge-agent
status`` shows the same; the ``edge_agent`` measurement arrives in VictoriaMetrics.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge_agent import __version__
from tests.support.processes import SimulatedCampus, cli, wait_for
from tests.support.victoriametrics import VictoriaMetrics

from .helpers import ServiceAgent, agent_toml, campus_devices, devices_in, free_listen, get, healthz

pytestmark = pytest.mark.integration


def sink_for(store: VictoriaMetrics) -> str:
    return f"""
[[sinks.influxdb]]
name = "city"
url = "{store.url}"
bucket = "campus"
retry_max = "1s"
timeout = "2s"
"""


def all_up(listen: str) -> bool:
    answer = healthz(listen)
    return answer is not None and answer[0] == 200 and all(d["up"] for d in answer[1]["devices"])


def test_metrics_healthz_status_and_self_metrics(
    tmp_path: Path, campus: SimulatedCampus, store: VictoriaMetrics
) -> None:
    campus.start()
    listen = free_listen()
    config = tmp_path / "agent.toml"
    config.write_text(
        agent_toml(
            list(campus_devices(campus).values()),
            listen=listen,
            sink=sink_for(store),
            extra='sink_down_after = "2s"',
        )
    )
    agent = ServiceAgent(config)
    agent.start()
    try:
        wait_for(lambda: all_up(listen), 30, what="every device up and /healthz 200")
        wait_for(
            lambda: healthz(listen)[1]["sinks"][0]["sent_points"] > 0,  # type: ignore[index]
            30,
            what="points sent",
        )

        code, text = get(f"http://{listen}/metrics")
        assert code == 200
        families = {f.name: f for f in text_string_to_metric_families(text)}
        polls = {
            s.labels["device"]: s.value
            for s in families["edge_agent_device_polls"].samples
            if s.name == "edge_agent_device_polls_total"
        }
        assert set(polls) == set(campus_devices(campus)) and min(polls.values()) >= 1
        assert families["edge_agent_device_polls"].type == "counter"
        for name in (
            "edge_agent_device_poll_errors",
            "edge_agent_device_poll_latency_seconds",
            "edge_agent_buffer_points",
            "edge_agent_buffer_bytes",
            "edge_agent_sink_backlog_points",
            "edge_agent_sink_oldest_age_seconds",
            "edge_agent_sink_sent_points",
            "edge_agent_sink_failures",
            "edge_agent_sink_dead_lettered_points",
            "edge_agent_points_dropped",
            "edge_agent_buffer_dropped_points",
            "edge_agent_reloads",
        ):
            assert name in families, name
        events = {
            (s.labels["device"], s.labels["event"]): s.value
            for s in families["edge_agent_device_events"].samples
            if s.name.endswith("_total")
        }
        assert events[("meter-1", "requests")] >= 1  # the driver's own counters, per device
        sent = families["edge_agent_sink_sent_points"].samples[0]
        assert sent.labels == {"sink": "city"} and sent.value > 0
        assert families["edge_agent_info"].samples[0].labels["version"] == __version__

        shown = cli("status", str(config))
        assert shown.returncode == 0, shown.stderr
        assert "OK" in shown.stdout and "devices: 4 of 4 answering" in shown.stdout
        assert "classroom-1" in shown.stdout and "city" in shown.stdout

        # The gateway's own point reaches the store, tagged with school and version.
        # Its first point may be written before any poll ended (0 devices ok): wait for one after.
        def all_ok() -> dict[tuple[str, frozenset[tuple[str, str]]], dict[int, float]] | None:
            points = store.points('{__name__=~"edge_agent_.*"}')
            ok = [max(v.values()) for (name, _), v in points.items() if name == "edge_agent_devices_ok"]
            return points if ok and max(ok) == 4 else None

        own = wait_for(all_ok, 30, what="an edge_agent point with 4 devices ok")
        names = {name for name, _ in own}
        assert {
            "edge_agent_uptime_s",
            "edge_agent_devices_ok",
            "edge_agent_devices_failed",
            "edge_agent_buffer_points",
            "edge_agent_buffer_oldest_age_s",
            "edge_agent_points_dropped",
        } <= names
        labels = dict(next(labels for name, labels in own if name == "edge_agent_devices_ok"))
        assert labels == {"school": "sh-test", "campus": "main", "version": __version__}
        assert max(own[("edge_agent_devices_ok", frozenset(labels.items()))].values()) == 4

        # Beside it one edge_agent_device point per device, with the device's own identity.
        def every_device_up() -> dict[str, dict[str, str]] | None:
            points = store.points('{__name__=~"edge_agent_device_(up|silent_s|interval_s)"}')
            up = {
                dict(tags)["device"]: dict(tags)
                for (name, tags), v in points.items()
                if name == "edge_agent_device_up" and v[max(v)] == 1
            }
            return up if set(up) == set(campus_devices(campus)) else None

        devices = wait_for(every_device_up, 30, what="an edge_agent_device point per device, all up")
        assert all(d["school"] == "sh-test" and d["campus"] == "main" for d in devices.values())

        store.stop()
        answer = wait_for(lambda: (h := healthz(listen)) and h[0] == 503 and h, 30, what="/healthz 503")
        assert answer[1]["status"] == "unhealthy"
        assert any("sink city" in p and "has failed for" in p for p in answer[1]["problems"])
        shown = cli("status", str(config))
        assert shown.returncode == 1 and "UNHEALTHY" in shown.stdout and "FAILING" in shown.stdout

        store.start()
        wait_for(lambda: (h := healthz(listen)) and h[0] == 200, 30, what="/healthz 200 again")
        assert agent.stop() == 0
    finally:
        if agent.running():
            agent.kill()


def test_healthz_is_503_when_no_device_answers(tmp_path: Path, campus: SimulatedCampus) -> None:
    listen = free_listen()
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(list(campus_devices(campus).values())[:2], listen=listen))
    agent = ServiceAgent(config)  # the campus is not started: nothing answers
    agent.start()
    try:
        code, report = wait_for(
            lambda: (h := healthz(listen)) and all(d["failures"] for d in h[1]["devices"]) and h,
            30,
            what="both devices failing",
        )
        assert code == 503 and report["problems"] == ["no device answers (2 polled)"]
        assert all(not d["up"] and d["last_error"] for d in devices_in(report).values())
        campus.start()
        wait_for(lambda: all_up(listen), 90, what="the devices back and /healthz 200")
        assert agent.stop() == 0
    finally:
        if agent.running():
            agent.kill()


def test_status_says_when_no_agent_answers(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml([], listen=free_listen()))
    shown = cli("status", str(config))
    assert shown.returncode == 1
    assert "no answer from http://127.0.0.1:" in shown.stderr and "is the agent running?" in shown.stderr
