"""The bundles kept on disk, and what the agent remembers of them, in ``<state_dir>/fleet/``.

    fleet/bundles/v7-1a2b3c4d5e6f/   a bundle as it came (manifest, signature, files)
    fleet/current  -> bundles/...    the bundle in force: used at the next start
    fleet/previous -> bundles/...    the one before it (for a technician's rollback)
    fleet/state.json                 versions, ETag, last check, last refusal

``current`` is a symbolic link swapped with one rename, so a power cut leaves either the
old bundle in force or the new one, never half of each. A bundle is kept only after it was
applied: what is kept has run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from edge_agent.config.central import CURRENT, fleet_dir

from .manifest import VerifiedBundle

STATE = "state.json"
PREVIOUS = "previous"
BUNDLES = "bundles"


class KeptRefusal(BaseModel):
    """The last bundle refused."""

    reason: str
    message: str
    version: int | None = None
    sha256: str | None = None
    at_ms: int


class FleetState(BaseModel):
    """``state.json``: what the agent knows of its bundles across restarts."""

    model_config = ConfigDict(extra="ignore")

    #: The bundle in force: its version, manifest SHA-256, when it was applied, its ETag.
    version: int = 0
    sha256: str | None = None
    applied_ms: int | None = None
    etag: str | None = None
    #: The highest version ever applied here: nothing older is taken again (no downgrade).
    highest_version: int = 0
    refused_total: int = 0
    last_refusal: KeptRefusal | None = None
    last_check_ms: int | None = None
    last_fetch_error: str | None = None


def read_state(state_dir: Path) -> FleetState:
    """``state.json``, or a fresh state when there is none (or it cannot be read)."""
    try:
        return FleetState.model_validate_json((fleet_dir(state_dir) / STATE).read_bytes())
    except (OSError, ValidationError):
        return FleetState()


def write_state(state_dir: Path, state: FleetState) -> None:
    """Write ``state.json`` whole (a new file renamed over the old one)."""
    folder = fleet_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = folder / f".{STATE}.partial"
    partial.write_text(state.model_dump_json(indent=2) + "\n")
    partial.replace(folder / STATE)


def keep(state_dir: Path, bundle: VerifiedBundle) -> Path:
    """Keep ``bundle`` as the one in force; the one before becomes ``previous``; older ones go."""
    folder = fleet_dir(state_dir)
    (folder / BUNDLES).mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"v{bundle.manifest.version}-{bundle.sha256[:12]}"
    target = folder / BUNDLES / name
    if not target.is_dir():
        incoming = folder / BUNDLES / f".{name}.partial"
        shutil.rmtree(incoming, ignore_errors=True)
        for path, data in bundle.files.items():
            (incoming / path).parent.mkdir(parents=True, exist_ok=True)
            with (incoming / path).open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        incoming.rename(target)
    before = _points_to(folder / CURRENT)
    if before is not None and before != name:
        _link(folder, PREVIOUS, before)
    _link(folder, CURRENT, name)
    keep_names = {name, before, _points_to(folder / PREVIOUS)}
    for old in (folder / BUNDLES).iterdir():
        if old.name not in keep_names:
            shutil.rmtree(old, ignore_errors=True)
    return target


def _points_to(link: Path) -> str | None:
    with contextlib.suppress(OSError):
        return Path(os.readlink(link)).name
    return None


def _link(folder: Path, name: str, bundle: str) -> None:
    partial = folder / f".{name}.partial"
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    partial.symlink_to(Path(BUNDLES) / bundle)
    partial.replace(folder / name)  # one rename: the old link or the new one, never none
