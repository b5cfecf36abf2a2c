"""``edge-agent scan snmp`` against a real snmpd: a report and a draft entry that loads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.config import load
from tests.support.processes import cli
from tests.support.snmpd import COMMUNITY, SYS_NAME, USERS, Snmpd

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    server = Snmpd(tmp_path_factory.mktemp("snmpd"))
    server.start()
    yield server
    server.stop()


def test_scan_prints_a_report_and_a_draft_that_loads(snmpd: Snmpd, tmp_path: Path) -> None:
    community = tmp_path / "community"
    community.write_text(f"{COMMUNITY}\n")
    result = cli(
        "scan", "snmp", "--host", "127.0.0.1", "--port", str(snmpd.port), "--community-file", str(community)
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"# {SYS_NAME} at 127.0.0.1:{snmpd.port}, SNMP v2c" in out
    assert "64-bit counters: yes" in out and "  lo  " in out
    assert 'profile = ["system", "if-mib", "host-resources"]' in out
    assert COMMUNITY not in out.replace(str(community), "")  # the secret stays in its file
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-031"\n\n' + out)
    (device,) = load(config).config.devices.snmp
    assert device.name == SYS_NAME and device.community_file == community


def test_scan_over_snmpv3_points_at_the_key_files(snmpd: Snmpd, tmp_path: Path) -> None:
    user = USERS["edgev3"]
    (tmp_path / "auth").write_text(f"{user.auth_key}\n")
    (tmp_path / "priv").write_text(f"{user.priv_key}\n")
    result = cli(
        "scan",
        "snmp",
        "--host",
        "127.0.0.1",
        "--port",
        str(snmpd.port),
        "--version",
        "3",
        "--user",
        user.name,
        "--auth",
        "sha",
        "--auth-key-file",
        str(tmp_path / "auth"),
        "--priv",
        "aes128",
        "--priv-key-file",
        str(tmp_path / "priv"),
        "--name",
        "gw",
    )
    assert result.returncode == 0, result.stderr
    assert f'auth_key_file = "{tmp_path / "auth"}"' in result.stdout
    assert str(user.auth_key) not in result.stdout and str(user.priv_key) not in result.stdout
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-031"\n\n' + result.stdout)
    (device,) = load(config).config.devices.snmp
    assert device.name == "gw" and device.security_level == "authPriv"


def test_scan_says_why_when_the_device_does_not_answer(snmpd: Snmpd) -> None:
    result = cli(
        "scan",
        "snmp",
        "--host",
        "127.0.0.1",
        "--port",
        str(snmpd.port),
        "--community",
        "nope",
        "--timeout",
        "300ms",
        "--retries",
        "0",
    )
    assert result.returncode == 1
    assert "is the community right" in result.stderr and result.stdout == ""


def test_scan_refuses_incomplete_credentials() -> None:
    result = cli("scan", "snmp", "--host", "127.0.0.1", "--version", "3", "--user", "u", "--auth", "sha")
    assert result.returncode == 2
    assert "auth needs auth_key_file" in result.stderr
