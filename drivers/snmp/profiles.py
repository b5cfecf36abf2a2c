"""``profile = ["system", "if-mib"]``: several SNMP profiles for one device.

The config loader fills a device from a single profile (``profile = "if-mib"``), looking
in ``agent.profiles_dir``, ``profiles/`` beside the config and the bundled profiles. A
list is merged here, from the bundled profiles: their ``fields`` and ``tables`` are put
one after the other, and like a single profile they only fill keys the device does not
set itself. Merging is idempotent, so a profile the loader already applied does no harm.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any

#: The profiles shipped with the source tree (the same folder the loader falls back to).
BUNDLED = Path(__file__).resolve().parents[2] / "configs" / "profiles"
LIST_KEYS = ("fields", "tables")


def merge_profiles(device: dict[str, Any], folder: Path = BUNDLED) -> dict[str, Any]:
    """``device`` with the keys of its profile(s) filled in; raise ValueError for an unknown one."""
    names = device.get("profile")
    if isinstance(names, str):
        # The loader applies a single profile itself; here only when it did not run
        # (a model built in code) and the profile is a bundled one.
        if any(key in device for key in LIST_KEYS) or not (folder / f"{names}.toml").is_file():
            return device
        names = [names]
    if not isinstance(names, list) or not names:
        return device
    merged: dict[str, Any] = {}
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"profile names are strings, got {name!r}")
        profile = _read(name, folder)
        for key, value in profile.items():
            if key in LIST_KEYS and isinstance(value, list):
                merged.setdefault(key, []).extend(value)
            elif key == "tags" and isinstance(value, dict):
                merged["tags"] = {**merged.get("tags", {}), **value}
            else:
                merged.setdefault(key, value)
    out = dict(device)
    for key, value in merged.items():
        if key == "tags":
            out["tags"] = {**value, **(device.get("tags") or {})}
        elif key not in device:
            out[key] = value
    return out


def _read(name: str, folder: Path) -> dict[str, Any]:
    file = folder / f"{name}.toml"
    if not file.is_file():
        known = sorted(p.stem for p in folder.glob("*.toml") if _is_snmp(p))
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"no profile {name!r} among the bundled profiles in {folder}{hint} "
            f"(known: {', '.join(known)}); a profile of your own is used with "
            'profile = "name" (one name, not a list)'
        )
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"profile {name!r} ({file}) cannot be read: {exc}") from None


def _is_snmp(file: Path) -> bool:
    """An SNMP profile has fields or tables (a Modbus one has registers)."""
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return any(key in data for key in LIST_KEYS)
