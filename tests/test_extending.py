"""docs/extending.md describes how a protocol plugs in; every protocol the config knows is built that way."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from drivers import DeviceConfig
from edge_agent.config.loader import BUNDLED_PROFILES
from edge_agent.config.model import DevicesSection

REPO = Path(__file__).resolve().parents[1]
PROTOCOLS = list(DevicesSection.model_fields)
#: What a ``[[devices.<protocol>]]`` model must offer the agent (drivers.DeviceConfig).
MEMBERS = [name for name in vars(DeviceConfig) if not name.startswith("_")]


def entry_model(protocol: str) -> type:
    """``list[XDevice]`` -> ``XDevice``."""
    (model,) = typing.get_args(DevicesSection.model_fields[protocol].annotation)
    assert isinstance(model, type)
    return model


def test_the_contract_is_what_the_guide_lists() -> None:
    assert sorted(MEMBERS) == ["create", "describe", "interval", "measurement", "name", "pushed", "tags"]
    guide = (REPO / "docs" / "extending.md").read_text()
    for member in MEMBERS:
        assert f"`{member}" in guide, member


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_protocol_is_one_folder_with_its_sample_and_readme(protocol: str) -> None:
    folder = REPO / "drivers" / protocol
    for name in ("__init__.py", "config.py", "sample.toml", "README.md"):
        assert (folder / name).is_file(), f"drivers/{protocol}/{name}"
    assert f"[[devices.{protocol}]]" in (folder / "sample.toml").read_text()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_entry_model_offers_the_device_config_members(protocol: str) -> None:
    model = entry_model(protocol)
    assert model.__module__ == f"drivers.{protocol}.config"
    fields = getattr(model, "model_fields", {})
    missing = [m for m in MEMBERS if m not in fields and not hasattr(model, m)]
    assert not missing, f"{model.__name__} lacks {missing}"


def test_every_bundled_profile_says_what_device_it_fits() -> None:
    profiles = sorted(BUNDLED_PROFILES.glob("*.toml"))
    assert profiles
    for profile in profiles:
        assert profile.read_text().startswith("# "), profile.name
