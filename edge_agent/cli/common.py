"""What the commands share: the default config path, its argument, and loading it with errors shown."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import ConfigError, LoadedConfig, load

DEFAULT_CONFIG = Path("/etc/edge-agent/agent.toml")


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """The optional CONFIG argument every command that reads the config takes."""
    parser.add_argument(
        "config",
        nargs="?",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"agent.toml (default {DEFAULT_CONFIG}); conf.d/*.toml beside it is read too",
    )


def load_config(path: Path) -> LoadedConfig | None:
    """The config at ``path``, or None after printing every problem in it to stderr."""
    try:
        return load(path)
    except ConfigError as exc:
        print(f"edge-agent: {exc}", file=sys.stderr)
        return None
