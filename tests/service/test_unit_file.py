"""The systemd unit: ``systemd-analyze verify`` is clean and ``security`` rates it 2.0 or lower.

Debian's ``systemd`` package brings systemd-analyze (``make test`` installs it); both
commands work offline, without a running systemd.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "systemd" / "edge-agent.service"
PREFIX = "/opt/edge-agent"
MAX_EXPOSURE = 2.0

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze missing: apt-get install systemd (make test does)",
)


def directives() -> dict[str, list[str]]:
    """``[Service]`` settings, every value of repeated keys kept."""
    parser = configparser.RawConfigParser(strict=False, dict_type=_MultiDict, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return {key: value.split("\n") for key, value in parser["Service"].items()}


class _MultiDict(dict[str, Any]):
    # configparser keeps the last of repeated keys; systemd keeps them all. While parsing,
    # configparser holds each value as a list of lines: extend it instead of replacing it.
    def __setitem__(self, key: str, value: Any) -> None:
        existing = self.get(key)
        if isinstance(value, list) and isinstance(existing, list):
            existing.extend(value)
            return
        super().__setitem__(key, value)


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` on ``unit``; --man=no: the docs it names are not man pages."""
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )


def unit_for(root: Path, tmp_path: Path) -> Path:
    """The unit with the program's prefix moved under ``root``: verify checks ExecStart= exists."""
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(PREFIX, f"{root}{PREFIX}"))
    return unit


@needs_analyze
def test_security_exposure_is_ok() -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for edge-agent\.service: (\d+\.\d+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE and match.group(2) == "OK", result.stdout
    assert "Invalid" not in result.stderr and "ignoring" not in result.stderr, result.stderr


@needs_analyze
def test_verify_is_clean(tmp_path: Path) -> None:
    program = tmp_path / "root" / PREFIX.lstrip("/") / "bin" / "edge-agent"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    result = verify(unit_for(tmp_path / "root", tmp_path))
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@needs_analyze
def test_verify_notices_a_missing_program(tmp_path: Path) -> None:
    # The check above is worth something: verify does look at ExecStart=.
    result = verify(unit_for(tmp_path / "nothing-here", tmp_path))
    assert result.returncode != 0 and "edge-agent" in result.stderr


def test_the_unit_is_a_watched_notify_service_with_what_the_agent_needs() -> None:
    service = directives()
    single = {key: values[-1] for key, values in service.items()}
    assert single["Type"] == "notify" and single["NotifyAccess"] == "main"
    assert single["WatchdogSec"] and single["Restart"] == "on-failure"
    assert single["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert single["ExecStart"] == f"{PREFIX}/bin/edge-agent run /etc/edge-agent/agent.toml"
    assert single["DynamicUser"] == "yes" and single["SupplementaryGroups"] == "dialout"
    assert single["StateDirectory"] == single["ConfigurationDirectory"] == "edge-agent"
    assert single["CapabilityBoundingSet"] == "" and single["NoNewPrivileges"] == "yes"
    assert single["RestrictAddressFamilies"] == "AF_INET AF_INET6 AF_UNIX"
    assert "@system-service" in service["SystemCallFilter"]
    assert single["MemoryMax"]
    # The buffer goes where StateDirectory= lets the agent write.
    assert "EDGE_AGENT_AGENT__STATE_DIR=/var/lib/edge-agent" in service["Environment"]


def test_every_credential_the_example_config_names_is_loaded_by_the_unit() -> None:
    loaded = {entry.split(":", 1)[0] for entry in directives()["LoadCredential"]}
    example = tomllib.loads((REPO / "configs" / "agent.example.toml").read_text())
    named = {
        sink["token_file"].removeprefix("${CREDENTIALS_DIRECTORY}/") for sink in example["sinks"]["influxdb"]
    }
    assert named and named <= loaded
