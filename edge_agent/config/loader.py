"""Loading the config: agent.toml, conf.d drop-ins, device profiles, environment overrides
(through pydantic-settings, :mod:`.environment`), and the city's signed bundle
(``[fleet]``) beneath them.

Every value is tracked to the file (or environment variable) it came from, so that an
error names where to fix it.

The city's bundle comes beneath the local files: its devices and sinks are added after the
local ones, except those a local file names too (same name: the technician's entry
outranks the city's), and its profiles are looked up after the local profile folders.
Nothing else of the bundle reaches the config (:mod:`edge_agent.bundle.scope`).
"""

from __future__ import annotations

import hashlib
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from campus_core import validated
from edge_agent.bundle import BundleRefused, VerifiedBundle
from edge_agent.bundle.scope import parse_dropins

from . import central, credentials
from .environment import finishing, variables
from .errors import ConfigError, Loc, Problem, format_loc, problems_from, suggest, unreadable_variable
from .model import AgentConfig
from .reporting import heartbeat_problems


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
    #: The city's bundle that is part of it, if any.
    bundle: VerifiedBundle | None = None
    #: What the technician should know that is no error (a kept bundle not used, an override).
    notes: list[str] = field(default_factory=list)


class _Sources:
    """Remembers which file set each key path."""

    def __init__(self) -> None:
        self.by_loc: dict[Loc, str] = {}

    def record(self, loc: Loc, source: str) -> None:
        self.by_loc[loc] = source

    def override(self, loc: Loc, source: str) -> None:
        """``source`` set ``loc`` whole: what files set below it no longer counts."""
        for known in [k for k in self.by_loc if k[: len(loc)] == loc]:
            del self.by_loc[known]
        self.by_loc[loc] = source

    def of(self, loc: Loc) -> str:
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.by_loc:
                return self.by_loc[loc[:end]]
        return "config"


def load(path: Path | str, bundle: VerifiedBundle | Literal["kept"] | None = "kept") -> LoadedConfig:
    """Read, merge and validate the config at ``path``; raise ConfigError listing all problems.

    ``bundle`` is the city's part: "kept" (the bundle in force, kept in the state dir, when
    ``[fleet]`` is set), a verified bundle to try, or None for the local files alone.
    """
    path = Path(path)
    problems: list[Problem] = []
    sources = _Sources()
    files: dict[Path, str] = {}
    merged: dict[str, Any] = {}
    notes: list[str] = []

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

    where = central.local(merged)
    if bundle == "kept":
        bundle, notes = central.kept(where)
    elif where.fleet is None:
        bundle = None  # a bundle without [fleet] to say what it may set sets nothing
    profiles: dict[str, tuple[Path, bytes]] = {}
    if bundle is not None:
        assert where.fleet is not None
        profiles = _add_bundle(merged, bundle, where, path.parent, sources, problems, files, notes)
        if problems:
            raise ConfigError(problems)

    # ${CREDENTIALS_DIRECTORY}/...: systemd's folder, or secrets/ beside the main config.
    credentials.expand_paths(merged, PATH_KEYS, path.parent)
    dirs = profile_dirs(path.parent, merged)
    unresolved = _apply_profiles(merged, dirs, sources, problems, files, profiles)
    overrides = variables(AgentConfig.model_fields)
    for key, name in overrides.items():
        sources.override(tuple(key.split(".")), f"environment variable {name}")

    def finish(data: dict[str, Any]) -> dict[str, Any]:
        # What the variables give, as the files' values were treated above.
        credentials.expand_paths(data, PATH_KEYS, path.parent)
        unresolved.extend(_apply_profiles(data, dirs, sources, problems, files, profiles))
        return data

    try:
        with validated.shared(), finishing(finish):
            config = AgentConfig(**merged)
    except ValidationError as exc:
        # A device whose profile is missing also lacks registers; say only the first.
        problems += [
            p
            for p in problems_from(exc, AgentConfig, sources.of)
            if not any(p.path == format_loc(u) for u in unresolved)
        ]
    except SettingsError as exc:
        problems.append(unreadable_variable(exc, overrides))
    else:
        for loc, message, given in heartbeat_problems(config):
            problems.append(Problem(sources.of(loc), format_loc(loc), message, given, True))
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(config, files, bundle, notes)


def _add_bundle(
    merged: dict[str, Any],
    bundle: VerifiedBundle,
    where: central.Local,
    config_dir: Path,
    sources: _Sources,
    problems: list[Problem],
    files: dict[Path, str],
    notes: list[str],
) -> dict[str, tuple[Path, bytes]]:
    """Add the bundle's devices and sinks beneath the local ones; return its profiles by name."""
    assert where.fleet is not None
    root = central.current_dir(where.state_dir)
    label = f"fleet bundle {bundle.manifest.version}"
    try:
        dropins = parse_dropins(bundle, where.fleet.allow)
    except BundleRefused as exc:
        problems.append(Problem(f"{root} ({label})", "", str(exc)))
        return {}
    taken = {
        section: {
            entry.get("name")
            for entries in tables.values()
            if isinstance(entries, list)
            for entry in entries
            if isinstance(entry, dict)
        }
        for section, tables in merged.items()
        if isinstance(tables, dict)
    }
    for name, data in dropins.items():
        file = root / "conf.d" / name
        files[file] = bundle.manifest.files[f"conf.d/{name}"]
        for section, kinds in data.items():
            if not isinstance(kinds, dict):
                _merge(merged, {section: kinds}, (), f"{file} ({label})", sources, config_dir)
                continue
            if not isinstance(merged.setdefault(section, {}), dict):
                continue  # the local files' own error is reported by the validation
            local = taken.get(section, set())
            for kind, entries in kinds.items():
                if isinstance(entries, list):
                    notes += [
                        f"{section} entry {e['name']!r}: the local one outranks the city's ({file})"
                        for e in entries
                        if isinstance(e, dict) and e.get("name") in local
                    ]
                    entries = [e for e in entries if not (isinstance(e, dict) and e.get("name") in local)]
                # Relative paths in a bundle are read as if its files were the local conf.d.
                _merge(
                    merged,
                    {section: {kind: entries}},
                    (),
                    f"{file} ({label})",
                    sources,
                    config_dir / "conf.d",
                )
    found = {}
    for name, raw in bundle.content("profiles").items():
        file = root / "profiles" / name
        files[file] = bundle.manifest.files[f"profiles/{name}"]
        found[name.removesuffix(".toml")] = (file, raw)
    return found


def _read_toml(file: Path, problems: list[Problem], files: dict[Path, str]) -> dict[str, Any] | None:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(str(file), "", "config file not found"))
        return None
    except OSError as exc:
        problems.append(Problem(str(file), "", f"cannot read: {exc.strerror}"))
        return None
    return _parse_toml(file, raw, problems, files)


def _parse_toml(
    file: Path, raw: bytes, problems: list[Problem], files: dict[Path, str]
) -> dict[str, Any] | None:
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
        if key in PATH_KEYS and isinstance(value, str):
            value = _relative_to(base, value)
        elif key in PATH_KEYS and isinstance(value, list):  # a list of files (fleet.trusted_keys)
            value = [_relative_to(base, item) for item in value]
        if isinstance(value, list):
            for index, item in enumerate(value):
                _resolve_paths(item, base)
                sources.record((*here, index), source)
        elif isinstance(value, dict):
            _resolve_paths(value, base)
        into[key] = value
        sources.record(here, source)


def _relative_to(base: Path, item: Any) -> Any:
    """A relative path as the file that names it means it; anything else as it is."""
    if (
        isinstance(item, str)
        and item
        and not Path(item).is_absolute()
        and not credentials.uses_credentials(item)
    ):
        return os.path.normpath(base / item)
    return item


def _resolve_paths(value: Any, base: Path) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in PATH_KEYS and isinstance(item, str):
                value[key] = _relative_to(base, item)
            elif key in PATH_KEYS and isinstance(item, list):
                value[key] = [_relative_to(base, one) for one in item]
            else:
                _resolve_paths(item, base)
    elif isinstance(value, list):
        for item in value:
            _resolve_paths(item, base)


def profile_dirs(config_dir: Path, merged: dict[str, Any]) -> list[Path]:
    """Where profiles are looked up: ``agent.profiles_dir``, ``profiles/`` by the config, bundled.

    ``EDGE_AGENT_AGENT__PROFILES_DIR`` outranks the files' ``profiles_dir``, as every variable does.
    """
    dirs = []
    configured = central.raw_value(merged, "agent", "profiles_dir")
    if isinstance(configured, str):
        dirs.append(Path(configured))
    dirs += [config_dir / "profiles", BUNDLED_PROFILES]
    return dirs


def _apply_profiles(
    merged: dict[str, Any],
    dirs: list[Path],
    sources: _Sources,
    problems: list[Problem],
    files: dict[Path, str],
    central_profiles: dict[str, tuple[Path, bytes]],
) -> list[Loc]:
    """Fill devices from their profiles; return the devices whose profile could not be used.

    The local profile folders come first, then the city's bundle, then the profiles shipped
    with the agent.
    """
    unresolved: list[Loc] = []
    devices = merged.get("devices")
    if not isinstance(devices, dict):
        return unresolved
    local_dirs, shipped = dirs[:-1], dirs[-1]
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
            file = next((d / f"{name}.toml" for d in local_dirs if (d / f"{name}.toml").is_file()), None)
            if file is None and name in central_profiles:
                file = central_profiles[name][0]
            if file is None and (shipped / f"{name}.toml").is_file():
                file = shipped / f"{name}.toml"
            if file is None:
                known = sorted(
                    {p.stem for d in dirs if d.is_dir() for p in d.glob("*.toml")} | set(central_profiles)
                )
                hint = suggest(name, known) or (f"; known profiles: {', '.join(known)}" if known else "")
                problems.append(
                    Problem(
                        sources.of(loc),
                        format_loc(loc),
                        f"no profile {name!r} in {', '.join(str(d) for d in dirs)}{hint}",
                        name,
                        True,
                    )
                )
                unresolved.append(loc[:-1])
                continue
            if file not in parsed:
                city = next((raw for f, raw in central_profiles.values() if f == file), None)
                parsed[file] = (
                    _read_toml(file, problems, files)
                    if city is None
                    else _parse_toml(file, city, problems, files)
                )
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
