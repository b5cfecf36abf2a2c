"""Warnings about how secrets are kept: files others can read, secrets written inline.

Not errors: the agent runs either way, but ``edge-agent check`` and every start say what
a security review would flag, so a technician can fix it before anyone else finds it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pydantic import BaseModel, SecretStr

from .model import AgentConfig

#: Keys naming a file that holds a secret (keys and certificates' private halves).
SECRET_FILES = frozenset(
    {"token_file", "password_file", "community_file", "auth_key_file", "priv_key_file", "tls_key"}
)
#: Keys that hold a secret itself, with the file key to use instead.
INLINE_SECRETS = {"token": "token_file", "community": "community_file"}


def secret_warnings(config: AgentConfig) -> list[str]:
    """Every secret file readable by group or others, every secret written inline."""
    found: list[str] = []
    entries: list[tuple[str, BaseModel]] = [
        (f"sinks {sink.name}", sink) for sink in config.sinks.all() if isinstance(sink, BaseModel)
    ]
    entries += [
        (f"device {device.name}", device)
        for _, device in config.devices.all()
        if isinstance(device, BaseModel)
    ]
    for where, entry in entries:
        for key in type(entry).model_fields:
            value = getattr(entry, key)
            if key in SECRET_FILES and isinstance(value, Path):
                mode = _mode(value)
                if mode is not None and mode & (stat.S_IRWXG | stat.S_IRWXO):
                    found.append(
                        f"{where}: {key} {str(value)!r} is readable by group or others "
                        f"(mode {stat.S_IMODE(mode):04o}); chmod 600 it"
                    )
            elif key in INLINE_SECRETS and value is not None and _secret_text(value):
                found.append(
                    f"{where}: {key} is written inline in the config; put it in a file "
                    f"readable only by the agent and use {INLINE_SECRETS[key]} instead"
                )
    return found


def root_warning(allow_root: bool) -> str | None:
    """A warning when the agent runs as root without being told that this is meant."""
    if os.geteuid() == 0 and not allow_root:
        return (
            "running as root: the agent needs no privileges (the unit runs it as its own "
            "user); pass --allow-root if this is meant"
        )
    return None


def _mode(path: Path) -> int | None:
    try:
        return os.stat(path).st_mode
    except OSError:
        return None


def _secret_text(value: object) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return isinstance(value, str) and bool(value)
