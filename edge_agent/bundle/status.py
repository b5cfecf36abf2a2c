"""``edge-agent fleet status``: the city's bundle in force, when it was applied, the last refusal.

Read from the state directory (what the agent keeps and writes after every check), so it
answers whether the agent runs or not.
"""

from __future__ import annotations

import datetime
import sys

from ..config import LoadedConfig
from ..config.central import current_dir
from .keep import read_state


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def show(loaded: LoadedConfig) -> int:
    """Print the fleet status; 1 when ``[fleet]`` is not set or the last bundle offered was refused."""
    config = loaded.config
    if config.fleet is None:
        print(
            "edge-agent fleet: no [fleet] in the config; this gateway runs its local config alone",
            file=sys.stderr,
        )
        return 1
    state = read_state(config.agent.state_dir)
    bundle = loaded.bundle
    print(f"fleet: {config.fleet.describe()}")
    if bundle is not None:
        manifest = bundle.manifest
        applied = _when(state.applied_ms) if state.sha256 == bundle.sha256 else "unknown"
        print(
            f"in force: version {manifest.version} for {manifest.target}, created "
            f"{manifest.created.isoformat()}, applied {applied}"
        )
        print(f"  sha256 {bundle.sha256}, kept in {current_dir(config.agent.state_dir)}")
        for name in sorted(manifest.files):
            print(f"  {name}")
    else:
        print("in force: no city bundle (the local config alone)")
    for note in loaded.notes:
        print(f"note: {note}")
    print(
        f"last check: {_when(state.last_check_ms)}"
        + (f", failed: {state.last_fetch_error}" if state.last_fetch_error else "")
    )
    print(f"highest version applied here: {state.highest_version or 'none'} (nothing older is taken)")
    refusal = state.last_refusal
    if refusal is None:
        print("refused: none")
        return 0
    version = f"version {refusal.version}" if refusal.version is not None else "a bundle"
    print(
        f"refused: {state.refused_total} in all; last {_when(refusal.at_ms)}: {version} "
        f"({refusal.reason}): {refusal.message}"
    )
    newer = state.applied_ms is None or refusal.at_ms > state.applied_ms
    return 1 if newer else 0
