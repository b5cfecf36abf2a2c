"""The audit trail: each config in force is logged with its files' SHA-256, and sent as an
``edge_agent_event`` point, at start and at every reload."""

from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path

import pytest

from edge_agent.audit import digest
from tests.support.processes import AgentProcess, SimulatedCampus, wait_for
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = pytest.mark.integration


def events(agent: AgentProcess) -> list[dict[str, object]]:
    found = []
    for line in agent.log_text().splitlines():
        if line.startswith("{") and '"config in force"' in line:
            found.append(json.loads(line))
    return found


def test_start_and_reload_are_audited(
    tmp_path: Path, campus: SimulatedCampus, store: VictoriaMetrics
) -> None:
    campus.start()
    devices = campus.config()
    first_device = devices[: devices.index("[[devices.modbus]]", 10)]
    config = tmp_path / "agent.toml"
    head = f"""
[agent]
school = "sh-audit"
interval = "500ms"
state_dir = "state"
[health]
listen = ""
[log]
format = "json"
[[sinks.influxdb]]
url = "{store.url}"
bucket = "campus"
"""
    config.write_text(head + first_device)
    agent = AgentProcess(config)
    agent.start()
    try:
        wait_for(lambda: events(agent), 30, what="the start event")
        [start] = events(agent)
        files = {Path(k): v for k, v in start["files"].items()}  # type: ignore[attr-defined]
        assert files[config] == hashlib.sha256(config.read_bytes()).hexdigest()
        assert start["audit_event"] == "start" and start["config_sha256"] == digest(files)

        config.write_text(head + devices)
        assert agent.process is not None
        agent.process.send_signal(signal.SIGHUP)
        wait_for(lambda: len(events(agent)) == 2, 30, what="the reload event")
        reload = events(agent)[1]
        assert reload["audit_event"] == "reload"
        assert sorted(reload["added"]) == ["classroom-2", "machine-1", "meter-1"]  # type: ignore[call-overload]
        assert reload["config_sha256"] != start["config_sha256"]

        def stored() -> set[tuple[str, str]]:
            return {
                (dict(labels)["event"], dict(labels)["config_sha256"])
                for name, labels in store.points('{__name__=~"edge_agent_event_.*"}')
            }

        wait_for(lambda: len(stored()) == 2, 30, what="both events in the store")
        assert stored() == {("start", start["config_sha256"]), ("reload", reload["config_sha256"])}
        assert agent.stop() == 0
    finally:
        if agent.running():
            agent.kill()
