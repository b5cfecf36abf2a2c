"""The city's part of the config: the bundle kept on disk, read back and checked at every load.

The agent keeps the last bundle it applied in ``<state_dir>/fleet/current/``. Every load
(start, SIGHUP, ``edge-agent check``) reads it again and verifies it with the trusted keys
as if it had just arrived, so a file changed on disk, a key taken out of ``trusted_keys`` or
a gateway moved to another school drops it, with a note, rather than running it.

The loader needs ``[fleet]`` and ``agent.state_dir`` before the config as a whole is
validated (the bundle is part of what gets validated), so they are read from the local
files' merged tables here; a section that is wrong is reported by the full validation.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edge_agent.bundle import BundleRefused, VerifiedBundle, load_public_keys, read_dir, verify

from .environment import ENV_PREFIX, NESTING
from .fleet import FleetSection

FLEET_DIR = "fleet"
CURRENT = "current"
DEFAULT_STATE_DIR = Path("/var/lib/edge-agent")


def fleet_dir(state_dir: Path) -> Path:
    """Where the agent keeps its bundles and what it knows of them."""
    return state_dir / FLEET_DIR


def current_dir(state_dir: Path) -> Path:
    """Where the bundle in force is kept."""
    return fleet_dir(state_dir) / CURRENT


@dataclass(frozen=True)
class Local:
    """What the loader needs of the local files before it can add the city's part."""

    fleet: FleetSection | None
    state_dir: Path
    school: str | None


def raw_value(merged: dict[str, Any], section: str, key: str) -> Any:
    """``section.key`` before validation: its variable's value if one is set, else the files'."""
    # The environment overrides the files, as it does for the whole config, in any case.
    wanted = f"{ENV_PREFIX}{section}{NESTING}{key}".upper()
    env = next((value for name, value in os.environ.items() if name.upper() == wanted), None)
    if env is not None:
        return env
    table = merged.get(section)
    return table.get(key) if isinstance(table, dict) else None


def local(merged: dict[str, Any]) -> Local:
    """``[fleet]``, the state dir and the school from the local files (None where unusable)."""
    fleet = None
    raw = merged.get("fleet")
    if isinstance(raw, dict):
        with contextlib.suppress(ValidationError):  # the full validation says what is wrong
            fleet = FleetSection.model_validate(raw)
    state_dir = raw_value(merged, "agent", "state_dir")
    school = raw_value(merged, "agent", "school")
    return Local(
        fleet,
        Path(state_dir) if isinstance(state_dir, str) else DEFAULT_STATE_DIR,
        school if isinstance(school, str) else None,
    )


def kept(where: Local) -> tuple[VerifiedBundle | None, list[str]]:
    """The bundle in force, verified again; None (and a note saying why) when it cannot be used."""
    fleet = where.fleet
    folder = current_dir(where.state_dir)
    if fleet is None or not (folder / "manifest.json").exists():
        return None, []
    try:
        keys = load_public_keys(fleet.trusted_keys)
        return verify(read_dir(folder), keys, school=where.school or "", groups=fleet.groups), []
    except (BundleRefused, ValueError) as exc:
        return None, [
            f"the kept bundle {folder} is not used ({exc}); the local config alone is in "
            "force until the city serves a bundle that verifies"
        ]
