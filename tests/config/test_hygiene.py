"""Warnings a security review would raise: running as root without saying so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.config.hygiene import root_warning


@pytest.mark.skipif(os.geteuid() != 0, reason="needs to run as root")
def test_running_as_root_is_warned_unless_allowed(tmp_path: Path) -> None:
    assert "running as root" in (root_warning(allow_root=False) or "")
    assert root_warning(allow_root=True) is None
    config = tmp_path / "agent.toml"
    config.write_text(
        '[agent]\nschool = "x"\nstate_dir = "state"\n[health]\nlisten = ""\n[log]\nformat = "json"\n'
    )
    for extra, warned in (([], True), (["--allow-root"], False)):
        agent = subprocess.Popen(
            [sys.executable, "-m", "edge_agent", "run", str(config), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            out, _ = agent.communicate(timeout=3)
        except subprocess.TimeoutExpired:
            agent.terminate()
            out, _ = agent.communicate(timeout=30)
        assert ("running as root" in out) is warned, out


def test_no_root_warning_for_an_ordinary_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert root_warning(allow_root=False) is None


def test_healthz_shows_tls_verification_turned_off(tmp_path: Path) -> None:
    from campus_core.clock import now_ms
    from edge_agent.config import load
    from edge_agent.health import report
    from edge_agent.status import AgentStatus

    config = tmp_path / "agent.toml"
    config.write_text(
        '[agent]\nschool = "x"\n[[sinks.influxdb]]\nname = "lab"\n'
        'url = "https://127.0.0.1:8428"\nbucket = "b"\ninsecure_skip_verify = true\n'
        '[[sinks.influxdb]]\nname = "city"\nurl = "https://127.0.0.1:8429"\nbucket = "b"\n'
    )
    body = report(AgentStatus(), load(config).config, now_ms())
    assert body["warnings"] == ["sink lab: TLS verification is off (insecure_skip_verify)"]
