"""deploy/install.sh against a temporary root: files land where the unit expects them,
a second run keeps the technician's edits, --uninstall removes the program and keeps data.

The venv is real (a wheel built from this checkout, dependencies from pip's index), so the
agent installed under the root is run too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .test_unit_file import PREFIX, REPO, unit_for, verify

pytestmark = pytest.mark.integration

INSTALL = REPO / "deploy" / "install.sh"


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DESTDIR", "CREDENTIALS_DIRECTORY")}
    return subprocess.run(
        ["bash", str(INSTALL), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_install_upgrade_and_uninstall_under_a_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = install(root)
    assert first.returncode == 0, first.stderr
    assert "not calling systemctl" in first.stdout  # no systemd here, and a --root besides

    program = root / PREFIX.lstrip("/") / "bin" / "edge-agent"
    etc = root / "etc" / "edge-agent"
    unit = root / "etc" / "systemd" / "system" / "edge-agent.service"
    assert os.access(program, os.X_OK)
    assert os.readlink(root / "usr" / "local" / "bin" / "edge-agent") == f"{PREFIX}/bin/edge-agent"
    assert unit.read_text() == (REPO / "deploy" / "systemd" / "edge-agent.service").read_text()
    assert (etc / "agent.toml").read_text() == (REPO / "configs" / "agent.example.toml").read_text()
    shipped = sorted(p.name for p in (REPO / "configs" / "profiles").glob("*.toml"))
    assert sorted(p.name for p in (etc / "profiles").glob("*.toml")) == shipped
    secrets = etc / "secrets"
    assert secrets.stat().st_mode & 0o777 == 0o700
    assert (secrets / "influxdb.token").stat().st_mode & 0o777 == 0o600

    # The installed agent reads the installed config, its token the way LoadCredential= hands it over.
    (secrets / "influxdb.token").write_text("t0ken\n")
    env = {**os.environ, "CREDENTIALS_DIRECTORY": str(secrets)}
    checked = subprocess.run(
        [str(program), "check", str(etc / "agent.toml")], capture_output=True, text=True, timeout=60, env=env
    )
    assert checked.returncode == 0, checked.stderr
    assert "a301-iaq" in checked.stdout and "t0ken" not in checked.stdout

    if shutil.which("systemd-analyze"):
        result = verify(unit_for(root, tmp_path))
        assert result.returncode == 0 and not result.stderr.strip(), result.stderr

    # The technician edits; an upgrade keeps every edit and adds what is new.
    (etc / "agent.toml").write_text((etc / "agent.toml").read_text().replace("sh-031", "sh-099"))
    edited = etc / "profiles" / shipped[0]
    edited.write_text(edited.read_text() + "\n# adjusted on site\n")
    (etc / "profiles" / shipped[1]).unlink()
    second = install(root)
    assert second.returncode == 0, second.stderr
    assert 'school = "sh-099"' in (etc / "agent.toml").read_text()
    assert edited.read_text().endswith("# adjusted on site\n")
    assert f"kept your /etc/edge-agent/profiles/{shipped[0]}" in second.stdout
    assert (etc / "profiles" / shipped[1]).exists()
    assert (secrets / "influxdb.token").read_text() == "t0ken\n"
    assert os.access(program, os.X_OK)

    state = root / "var" / "lib" / "edge-agent"
    state.mkdir(parents=True)
    (state / "buffer.db").write_bytes(b"readings")
    removed = install(root, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not (root / PREFIX.lstrip("/")).exists() and not unit.exists()
    assert not (root / "usr" / "local" / "bin" / "edge-agent").is_symlink()
    assert (etc / "agent.toml").exists() and (state / "buffer.db").exists()
    purged = install(root, "--uninstall", "--purge")
    assert purged.returncode == 0, purged.stderr
    assert not etc.exists() and not state.exists()


def test_install_needs_root_or_a_root_directory() -> None:
    # As an ordinary user (nobody, when the tests run as root). The checkout (and pytest's
    # tmp_path) may sit where nobody cannot read: the script is copied where it can.
    user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    with tempfile.TemporaryDirectory() as tmp:
        readable = Path(tmp) / "deploy" / "install.sh"
        readable.parent.mkdir()
        shutil.copy(INSTALL, readable)
        for path in (Path(tmp), readable.parent, readable):
            path.chmod(0o755)
        result = subprocess.run([*user, "bash", str(readable)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "run as root" in result.stderr, result.stderr
