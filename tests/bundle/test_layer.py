"""The city's bundle beneath the school's files: what it adds, what the technician's files outrank,
and what refuses it, as ``edge-agent check`` and every load see it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.bundle import VerifiedBundle, load_public_keys, verify
from edge_agent.cli import main
from edge_agent.config import ConfigError, load
from edge_agent.config.central import current_dir

from .helpers import DEVICE, CityKey, bundle_files, write_bundle

PROFILE = """
measurement = "lab_rig"
tags = { kind = "plc-rig" }

[[registers]]
field = "pressure_kpa"
table = "input"
address = 0
type = "uint16"
"""


def agent_toml(fleet: str, devices: str = "") -> str:
    return f"""
[agent]
school = "sh-test"
state_dir = "state"

{fleet}
{devices}
"""


def fleet(
    city: CityKey, *, allow: str = '["devices", "profiles"]', url: str = "https://cfg.example/b.tgz"
) -> str:
    return f'[fleet]\nurl = "{url}"\ntrusted_keys = ["{city.pub_file}"]\nallow = {allow}\n'


@pytest.fixture
def city(tmp_path: Path) -> CityKey:
    return CityKey(tmp_path / "keys")


def keep(tmp_path: Path, city: CityKey, content: dict[str, str], version: int = 1, **kw: str) -> Path:
    """A bundle kept as the one in force, as the agent leaves it in its state dir."""
    return write_bundle(current_dir(tmp_path / "state"), content, city, version=version, **kw)


def test_the_kept_bundle_adds_its_devices_and_profiles(tmp_path: Path, city: CityKey) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(fleet(city), DEVICE.format(name="local-1", port=5020)))
    keep(
        tmp_path,
        city,
        {
            "conf.d/city.toml": DEVICE.format(name="c-1", port=5021).replace("classroom-iaq", "lab-rig"),
            "profiles/lab-rig.toml": PROFILE,
        },
        version=4,
    )
    loaded = load(config)
    assert [d.name for _, d in loaded.config.devices.all()] == ["local-1", "c-1"]
    assert loaded.config.devices.modbus[1].measurement == "lab_rig"
    assert loaded.bundle is not None and loaded.bundle.manifest.version == 4
    kept = current_dir(tmp_path / "state")
    assert {kept / "conf.d" / "city.toml", kept / "profiles" / "lab-rig.toml"} <= set(loaded.files)


def test_a_local_entry_of_the_same_name_outranks_the_citys(tmp_path: Path, city: CityKey) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(fleet(city), DEVICE.format(name="c-1", port=6000)))
    keep(
        tmp_path,
        city,
        {"conf.d/city.toml": DEVICE.format(name="c-1", port=5021) + DEVICE.format(name="c-2", port=5022)},
    )
    loaded = load(config)
    assert [(d.name, d.port) for d in loaded.config.devices.modbus] == [("c-1", 6000), ("c-2", 5022)]
    assert any("'c-1': the local one outranks the city's" in note for note in loaded.notes)


def test_a_local_profile_outranks_the_citys(tmp_path: Path, city: CityKey) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(fleet(city)))
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "lab-rig.toml").write_text(PROFILE.replace("lab_rig", "local_rig"))
    keep(
        tmp_path,
        city,
        {
            "conf.d/city.toml": DEVICE.format(name="c-1", port=5021).replace("classroom-iaq", "lab-rig"),
            "profiles/lab-rig.toml": PROFILE,
        },
    )
    assert load(config).config.devices.modbus[0].measurement == "local_rig"


def test_without_fleet_the_kept_bundle_is_not_read(tmp_path: Path, city: CityKey) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(""))
    keep(tmp_path, city, {"conf.d/city.toml": DEVICE.format(name="c-1", port=5021)})
    loaded = load(config)
    assert loaded.config.devices.all() == [] and loaded.bundle is None


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (lambda d: (d / "conf.d" / "city.toml").write_text(DEVICE.format(name="c-9", port=1)), "SHA-256"),
        (lambda d: (d / "manifest.sig").write_text("AAAA\n"), "trusted key"),
    ],
)
def test_a_kept_bundle_changed_on_disk_is_not_used(
    tmp_path: Path, city: CityKey, spoil: object, why: str
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(fleet(city), DEVICE.format(name="local-1", port=5020)))
    spoil(keep(tmp_path, city, {"conf.d/city.toml": DEVICE.format(name="c-1", port=5021)}))  # type: ignore[operator]
    loaded = load(config)
    assert [d.name for _, d in loaded.config.devices.all()] == ["local-1"] and loaded.bundle is None
    assert len(loaded.notes) == 1 and "is not used" in loaded.notes[0] and why in loaded.notes[0]


def test_a_kept_bundle_for_another_school_is_not_used(tmp_path: Path, city: CityKey) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(fleet(city)))
    keep(tmp_path, city, {"conf.d/city.toml": DEVICE.format(name="c-1", port=5021)}, school="sh-999")
    loaded = load(config)
    assert loaded.bundle is None and "for school sh-999" in loaded.notes[0]


def candidate(city: CityKey, content: dict[str, str]) -> VerifiedBundle:
    return verify(bundle_files(content, city, version=2), load_public_keys([city.pub_file]), school="sh-test")


def test_sinks_from_the_city_only_when_allowed(tmp_path: Path, city: CityKey) -> None:
    sink = '[[sinks.influxdb]]\nurl = "https://tsdb.example:8086"\norg = "edu"\nbucket = "campus"\n'
    bundle = candidate(city, {"conf.d/sinks.toml": sink})
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(fleet(city)))
    with pytest.raises(ConfigError) as caught:
        load(config, bundle)
    assert "sets [sinks], which fleet.allow does not name" in str(caught.value)
    config.write_text(agent_toml(fleet(city, allow='["devices", "sinks"]')))
    assert [s.url for s in load(config, bundle).config.sinks.influxdb] == ["https://tsdb.example:8086"]


def test_profiles_from_the_city_only_when_allowed(tmp_path: Path, city: CityKey) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(fleet(city, allow='["devices"]')))
    with pytest.raises(ConfigError, match="carries profiles"):
        load(config, candidate(city, {"profiles/lab-rig.toml": PROFILE}))


def test_a_bundle_whose_device_is_invalid_names_its_file(tmp_path: Path, city: CityKey) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(fleet(city)))
    bad = DEVICE.format(name="c-1", port=70000)
    with pytest.raises(ConfigError) as caught:
        load(config, candidate(city, {"conf.d/city.toml": bad}))
    [problem] = caught.value.problems
    assert "conf.d/city.toml (fleet bundle 2)" in problem.source and problem.path == "devices.modbus[0].port"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('url = "http://cfg.example/b.tgz"', "must be https://"),
        ('url = "bundles/sh-test"', "absolute path"),
        ("trusted_keys = []", "at least 1 item"),
        ('groups = ["no spaces"]', "group 'no spaces'"),
        ('allow = ["agent"]', "fleet.allow[0]"),
    ],
)
def test_a_bad_fleet_section_is_named(tmp_path: Path, city: CityKey, line: str, expected: str) -> None:
    key = line.split(" = ")[0]
    section = "\n".join(entry for entry in fleet(city).splitlines() if not entry.startswith(f"{key} ="))
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(f"{section}\n{line}\n"))
    with pytest.raises(ConfigError) as caught:
        load(config)
    assert expected in str(caught.value), str(caught.value)


def test_a_trusted_key_that_is_no_ed25519_key_is_named(tmp_path: Path, city: CityKey) -> None:
    (tmp_path / "keys" / "wrong.pub").write_text("not a key\n")
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(fleet(city).replace(str(city.pub_file), "keys/wrong.pub")))
    with pytest.raises(ConfigError, match="holds no PEM public key"):
        load(config)


def test_check_shows_the_bundle_in_force(
    tmp_path: Path, city: CityKey, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(fleet(city)))
    assert main(["check", str(config)]) == 0
    assert "bundle in force: none yet" in capsys.readouterr().out
    keep(tmp_path, city, {"conf.d/city.toml": DEVICE.format(name="c-1", port=5021)}, version=9)
    assert main(["check", str(config)]) == 0
    shown = capsys.readouterr().out
    assert "fleet: https://cfg.example/b.tgz every 5m" in shown
    assert "bundle in force: version 9 for school sh-test" in shown and "c-1" in shown
