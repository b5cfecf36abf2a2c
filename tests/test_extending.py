"""docs/extending.md describes how a protocol plugs in; every protocol the config knows is built that way."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from campus_core.devices import DeviceConfig
from campus_core.files import SecretFile, readable_file
from edge_agent.config.loader import BUNDLED_PROFILES, PATH_KEYS
from edge_agent.config.model import AgentConfig, DevicesSection

REPO = Path(__file__).resolve().parents[1]
PROTOCOLS = list(DevicesSection.model_fields)
#: What a ``[[devices.<protocol>]]`` model must offer the agent (campus_core.devices.DeviceConfig).
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
    for name in ("__init__.py", "config.py", "driver.py", "sample.toml", "README.md"):
        assert (folder / name).is_file(), f"drivers/{protocol}/{name}"
    assert f"[[devices.{protocol}]]" in (folder / "sample.toml").read_text()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_entry_model_offers_the_device_config_members(protocol: str) -> None:
    model = entry_model(protocol)
    assert model.__module__ == f"drivers.{protocol}.config"
    fields = getattr(model, "model_fields", {})
    missing = [m for m in MEMBERS if m not in fields and not hasattr(model, m)]
    assert not missing, f"{model.__name__} lacks {missing}"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_driver_package_only_re_exports(protocol: str) -> None:
    # A maintainer looking for a protocol's driver opens driver.py; __init__.py holds no code.
    tree = ast.parse((REPO / "drivers" / protocol / "__init__.py").read_text())
    code = [
        node
        for node in tree.body
        if not isinstance(node, ast.Import | ast.ImportFrom | ast.Expr | ast.Assign | ast.If)
        and not (isinstance(node, ast.FunctionDef) and node.name == "__getattr__")
    ]
    assert not code, [type(node).__name__ for node in code]


def test_every_bundled_profile_says_what_device_it_fits() -> None:
    profiles = sorted(BUNDLED_PROFILES.glob("*.toml"))
    assert profiles
    for profile in profiles:
        assert profile.read_text().startswith("# "), profile.name


def secret_file_keys(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    """Every key, in any section of the config, whose type is SecretFile."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        if any(
            getattr(m, "func", None) is readable_file for m in info.metadata
        ) or SecretFile in typing.get_args(info.annotation):
            keys.add(name)
        pending = [info.annotation]
        while pending:
            annotation = pending.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                keys |= secret_file_keys(annotation, seen)
            pending += typing.get_args(annotation)
    return keys


def test_every_secret_file_key_is_taken_relative_to_its_config_file() -> None:
    keys = secret_file_keys(AgentConfig)
    assert {"token_file", "tls_ca", "password_file", "community_file", "priv_key_file"} <= keys
    assert keys <= PATH_KEYS


def test_path_keys_are_read_off_the_models() -> None:
    # The keys every section had before they were read off the models: none may go missing.
    assert {
        "state_dir",
        "profiles_dir",
        "token_file",
        "password_file",
        "community_file",
        "auth_key_file",
        "priv_key_file",
        "tls_ca",
        "tls_cert",
        "tls_key",
    } <= PATH_KEYS


def test_a_driver_with_a_scan_module_is_scannable() -> None:
    from edge_agent.cli.scan import SCANNERS

    with_scan = [p for p in PROTOCOLS if (REPO / "drivers" / p / "scan.py").is_file()]
    assert {p: f"drivers.{p}.scan" for p in with_scan} == SCANNERS
    assert {"modbus", "snmp"} <= set(SCANNERS)
