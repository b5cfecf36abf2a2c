"""Loading the config: agent.toml, conf.d drop-ins, device profiles, environment overrides.

Every value is tracked to the file (or environment variable) it came from, so that an
error names where to fix it.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from campus_core import validated

from . import credentials
from .errors import ConfigError, Loc, Problem, explain, format_loc, model_at, suggest
from .model import AgentConfig

ENV_PREFIX = "EDGE_AGENT_"


def path_keys(model: type[BaseModel]) -> frozenset[str]:
    """Every key, in any section of ``model``, whose type is a path (``Path``, ``SecretFile``).

    Read off the models, so that a new driver's file keys need no list kept here.
    """
    found: set[str] = set()
    seen: set[type[BaseModel]] = set()

    def visit(section: type[BaseModel]) -> None:
        if section in seen:
            return
        seen.add(section)
        for name, info in section.model_fields.items():
            pending: list[Any] = [info.annotation]
            while pending:
                annotation = pending.pop()
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    visit(annotation)
                elif isinstance(annotation, type) and issubclass(annotation, Path):
                    found.add(name)
                pending += typing.get_args(annotation)

    visit(model)
    return frozenset(found)


#: Keys whose relative paths are taken relative to the file that sets them.
PATH_KEYS = path_keys(AgentConfig)
#: Profiles shipped with the source tree, used when the config's own folder has none.
BUNDLED_PROFILES = Path(__file__).resolve().parents[2] / "configs" / "profiles"


@dataclass
class LoadedConfig:
    """A validated config and the files it was read from (with their SHA-256)."""

    config: AgentConfig
    files: dict[Path, str] = field(default_factory=dict)


class _Sources:
    """Remembers which file set each key path."""

    def __init__(self) -> None:
        self.by_loc: dict[Loc, str] = {}

    def record(self, loc: Loc, source: str) -> None:
        self.by_loc[loc] = source

    def of(self, loc: Loc) -> str:
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.by_loc:
                return self.by_loc[loc[:end]]
        return "config"


def load(path: Path | str) -> LoadedConfig:
    """Read, merge and validate the config at ``path``; raise ConfigError listing all problems."""
    path = Path(path)
    problems: list[Problem] = []
    sources = _Sources()
    files: dict[Path, str] = {}
    merged: dict[str, Any] = {}

    candidates = [path]
    dropins = path.parent / "conf.d"
    if dropins.is_dir():
        candidates += sorted(dropins.glob("*.toml"))
    for file in candidates:
        data = _read_toml(file, problems, files)
        if data is not None:
            _merge(merged, data, (), str(file), sources, file.parent)
    if problems:
        raise ConfigError(problems)

    _record_env(sources)
    # ${CREDENTIALS_DIRECTORY}/...: systemd's folder, or secrets/ beside the main config.
    credentials.expand_paths(merged, PATH_KEYS, path.parent)
    unresolved = _apply_profiles(merged, path.parent, sources, problems, files)

    try:
        with validated.shared():
            config = AgentConfig(**merged)
    except ValidationError as exc:
        # A device whose profile is missing also lacks registers; say only the first.
        problems += [
            p for p in _problems_from(exc, sources) if not any(p.path == format_loc(u) for u in unresolved)
        ]
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(config, files)


def _read_toml(file: Path, problems: list[Problem], files: dict[Path, str]) -> dict[str, Any] | None:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(str(file), "", "config file not found"))
        return None
    except OSError as exc:
        problems.append(Problem(str(file), "", f"cannot read: {exc.strerror}"))
        return None
    files[file] = hashlib.sha256(raw).hexdigest()
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        problems.append(Problem(str(file), "", "is not UTF-8 text"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(str(file), "", f"not valid TOML: {exc}"))
    return None


def _merge(
    into: dict[str, Any], data: dict[str, Any], loc: Loc, source: str, sources: _Sources, base: Path
) -> None:
    """Deep-merge tables; arrays of tables from drop-ins add entries; later scalars win."""
    for key, value in data.items():
        here = (*loc, key)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, here, source, sources, base)
            continue
        if isinstance(value, list) and isinstance(into.get(key), list):
            start = len(into[key])
            into[key].extend(value)
            for index in range(len(value)):
                sources.record((*here, start + index), source)
            continue
        if key in PATH_KEYS and isinstance(value, str) and value and not Path(value).is_absolute() \
                and not credentials.uses_credentials(value):
            value = os.path.normpath(base / value)
        if isinstance(value, list):
            for index, item in enumerate(value):
                _resolve_paths(item, base)
                sources.record((*here, index), source)
        elif isinstance(value, dict):
            _resolve_paths(value, base)
        into[key] = value
        sources.record(here, source)


def _resolve_paths(value: Any, base: Path) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in PATH_KEYS and isinstance(item, str) and item and not Path(item).is_absolute() \
                    and not credentials.uses_credentials(item):
                value[key] = os.path.normpath(base / item)
            else:
                _resolve_paths(item, base)
    elif isinstance(value, list):
        for item in value:
            _resolve_paths(item, base)


def _record_env(sources: _Sources) -> None:
    for name in os.environ:
        if name.upper().startswith(ENV_PREFIX):
            parts = name[len(ENV_PREFIX) :].lower().split("__")
            sources.record(tuple(parts), f"environment variable {name}")


def profile_dirs(config_dir: Path, merged: dict[str, Any]) -> list[Path]:
    """Where profiles are looked up: ``agent.profiles_dir``, ``profiles/`` by the config, bundled."""
    dirs = []
    agent = merged.get("agent")
    configured = agent.get("profiles_dir") if isinstance(agent, dict) else None
    if isinstance(configured, str):
        dirs.append(Path(configured))
    dirs += [config_dir / "profiles", BUNDLED_PROFILES]
    return dirs


def _apply_profiles(
    merged: dict[str, Any],
    config_dir: Path,
    sources: _Sources,
    problems: list[Problem],
    files: dict[Path, str],
) -> list[Loc]:
    """Fill devices from their profiles; return the devices whose profile could not be used."""
    unresolved: list[Loc] = []
    devices = merged.get("devices")
    if not isinstance(devices, dict):
        return unresolved
    dirs = profile_dirs(config_dir, merged)
    # Each profile file is read once: its devices then share its lists (campus_core.validated).
    parsed: dict[Path, dict[str, Any] | None] = {}
    for protocol, entries in devices.items():
        if not isinstance(entries, list):
            continue
        for index, device in enumerate(entries):
            if not isinstance(device, dict) or not isinstance(device.get("profile"), str):
                continue
            loc: Loc = ("devices", protocol, index, "profile")
            name = device["profile"]
            file = next((d / f"{name}.toml" for d in dirs if (d / f"{name}.toml").is_file()), None)
            if file is None:
                known = sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.toml")})
                hint = suggest(name, known) or (f"; known profiles: {', '.join(known)}" if known else "")
                problems.append(Problem(
                    sources.of(loc), format_loc(loc),
                    f"no profile {name!r} in {', '.join(str(d) for d in dirs)}{hint}", name, True,
                ))
                unresolved.append(loc[:-1])
                continue
            if file not in parsed:
                parsed[file] = _read_toml(file, problems, files)
            profile = parsed[file]
            if profile is None:
                unresolved.append(loc[:-1])
                continue
            _fill_from_profile(device, profile, loc[:-1], str(file), sources)
    return unresolved


def _fill_from_profile(
    device: dict[str, Any], profile: dict[str, Any], loc: Loc, source: str, sources: _Sources
) -> None:
    """The device's own keys win; profile tags sit under the device's tags."""
    for key, value in profile.items():
        if key == "tags" and isinstance(value, dict):
            device["tags"] = {**value, **device.get("tags", {})}
        elif key not in device:
            device[key] = value
            sources.record((*loc, key), source)


def _problems_from(exc: ValidationError, sources: _Sources) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        kind = error["type"]
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            model = model_at(AgentConfig, loc[:-1])
            allowed = sorted(model.model_fields) if model else []
            message = f"unknown key {key!r}{suggest(key, allowed)}"
            if allowed:
                message += f" (allowed here: {', '.join(allowed)})"
            problems.append(Problem(sources.of(loc), format_loc(loc), message))
            continue
        if kind == "missing":
            problems.append(Problem(sources.of(loc[:-1]), format_loc(loc), "required key is missing"))
            continue
        given = error.get("input")
        message = explain(kind, message, error.get("ctx"), given)
        shown = not isinstance(given, dict | list)
        problems.append(Problem(sources.of(loc), format_loc(loc), message, given if shown else None, shown))
    return problems
