"""``campus-ops bundle``: the city makes, signs and checks the bundles its gateways pull."""

from __future__ import annotations

from pathlib import Path

import pytest

from campus_ops.cli import main

DEVICE = '[[devices.modbus]]\nname = "a301-iaq"\nhost = "10.31.3.21"\nprofile = "classroom-iaq"\n'


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "sh-031"
    (src / "conf.d").mkdir(parents=True)
    (src / "profiles").mkdir()
    (src / "conf.d" / "devices.toml").write_text(DEVICE)
    (src / "profiles" / "lab-rig.toml").write_text('kind = "plc"\n')
    return src


@pytest.mark.parametrize("out", ["bundle", "bundle.tar.gz"])
def test_keygen_build_sign_verify(
    tmp_path: Path, source: Path, out: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Into folders that do not exist yet, as the docs' commands write them.
    key = tmp_path / "keys" / "city.key"
    assert main(["bundle", "keygen", "--out", str(key)]) == 0
    assert key.stat().st_mode & 0o777 == 0o600 and key.parent.stat().st_mode & 0o777 == 0o700
    bundle = tmp_path / "served" / out
    assert (
        main(["bundle", "build", str(source), "--school", "sh-031", "--version", "7", "--out", str(bundle)])
        == 0
    )
    assert "not signed yet" in capsys.readouterr().out
    pub = str(key.with_name("city.pub"))
    assert main(["bundle", "verify", str(bundle), "--key", pub]) == 1
    assert "refused (signature)" in capsys.readouterr().err
    assert main(["bundle", "sign", str(bundle), "--key", str(key)]) == 0
    assert main(["bundle", "verify", str(bundle), "--key", pub, "--school", "sh-031"]) == 0
    shown = capsys.readouterr().out
    assert "bundle OK" in shown and "version 7 for school sh-031" in shown and "conf.d/devices.toml" in shown
    assert main(["bundle", "verify", str(bundle), "--key", pub, "--school", "sh-032"]) == 1
    assert "refused (target)" in capsys.readouterr().err


def test_a_tampered_directory_bundle_does_not_verify(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "city.key"
    main(["bundle", "keygen", "--out", str(key)])
    bundle = tmp_path / "b"
    assert (
        main(
            [
                "bundle",
                "build",
                str(source),
                "--group",
                "xuhui",
                "--version",
                "2",
                "--out",
                str(bundle),
                "--key",
                str(key),
            ]
        )
        == 0
    )
    (bundle / "conf.d" / "devices.toml").write_text(DEVICE.replace("10.31.3.21", "10.99.0.1"))
    assert main(["bundle", "verify", str(bundle), "--key", str(tmp_path / "city.pub")]) == 1
    assert "conf.d/devices.toml does not match its SHA-256" in capsys.readouterr().err


def test_build_refuses_what_a_bundle_may_not_set(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (source / "conf.d" / "zz.toml").write_text('[agent]\nschool = "sh-999"\n')
    assert (
        main(
            [
                "bundle",
                "build",
                str(source),
                "--school",
                "sh-031",
                "--version",
                "1",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "zz.toml: sets [agent]" in err and "only devices, sinks" in err
    (source / "conf.d" / "zz.toml").write_text("[[devices.modbus]\n")
    assert (
        main(
            [
                "bundle",
                "build",
                str(source),
                "--school",
                "sh-031",
                "--version",
                "1",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 2
    )
    assert "not valid TOML" in capsys.readouterr().err


def test_keygen_never_overwrites_a_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "city.key"
    assert main(["bundle", "keygen", "--out", str(key)]) == 0
    before = key.read_bytes()
    assert main(["bundle", "keygen", "--out", str(key)]) == 2
    assert key.read_bytes() == before and "never overwritten" in capsys.readouterr().err


def test_a_rebuild_into_the_same_folder_leaves_no_stale_file(tmp_path: Path, source: Path) -> None:
    key = tmp_path / "city.key"
    main(["bundle", "keygen", "--out", str(key)])
    bundle = tmp_path / "b"
    build = ["bundle", "build", str(source), "--school", "sh-031", "--out", str(bundle), "--key", str(key)]
    assert main([*build, "--version", "1"]) == 0
    (source / "profiles" / "lab-rig.toml").unlink()
    assert main([*build, "--version", "2"]) == 0
    assert not (bundle / "profiles" / "lab-rig.toml").exists()
    assert main(["bundle", "verify", str(bundle), "--key", str(tmp_path / "city.pub")]) == 0
