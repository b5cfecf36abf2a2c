"""``edge-agent check``: validate the config and summarise what it sets up."""

from __future__ import annotations

import argparse

from campus_core.units import format_duration, format_size

from ..config.hygiene import secret_warnings
from ..statedir import buffer_path
from .common import add_config_argument, load_config

HELP = "validate the config and summarise it; exit 1 on any error"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CONFIG."""
    add_config_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Print the summary, notes and warnings; 1 with every problem listed when the config is bad."""
    loaded = load_config(args.config)
    if loaded is None:
        return 1
    config = loaded.config
    others = len(loaded.files) - 1
    print(f"config OK: {args.config}" + (f" (+ {others} drop-in and profile files)" if others else ""))
    print(
        f"school {config.agent.school}, campus {config.agent.campus}, "
        f"default interval {format_duration(config.agent.interval)}"
    )
    devices = config.devices.all()
    print(f"devices: {len(devices)}")
    for _, device in devices:
        when = " " * 12 if device.pushed else f"every {format_duration(config.interval_of(device)):<6}"
        print(f"  {device.name:<20} {when} {device.describe()}")
    sinks = config.sinks.all()
    print(f"sinks: {len(sinks) or 'none (readings stay in the local buffer)'}")
    for sink in sinks:
        print(f"  {sink.name:<20} {sink.describe()}")
    print(
        f"buffer: {buffer_path(config)} (max {format_size(config.buffer.max_disk)}, "
        f"sync {config.buffer.sync})"
    )
    health = config.health
    listener = f"http://{health.listen} (/metrics, /healthz)" if health.listen else "listener off"
    own = f", edge_agent point every {format_duration(config.agent.interval)}" if health.self_metrics else ""
    print(f"health: {listener}{own}")
    if config.fleet is not None:
        print(f"fleet: {config.fleet.describe()}")
        bundle = loaded.bundle
        print(
            "  bundle in force: "
            + (
                f"version {bundle.manifest.version} for {bundle.manifest.target}, "
                f"created {bundle.manifest.created.isoformat()}, sha256 {bundle.sha256[:12]}"
                if bundle is not None
                else "none yet (the local config alone)"
            )
        )
    for note in loaded.notes:
        print(f"note: {note}")
    for warning in secret_warnings(config):
        print(f"warning: {warning}")
    return 0
