"""What a bundle may set on this gateway: its drop-ins parsed, and checked against ``fleet.allow``.

A bundle's ``conf.d`` files may set ``[devices]`` and ``[sinks]`` only, and only the parts
the technician allowed; ``profiles/`` only when profiles are allowed. Anything more refuses
the whole bundle: taking the allowed half of a bundle would run a config nobody signed off.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from typing import Any

from .manifest import BundleRefused, VerifiedBundle

#: The sections a bundle's drop-in can name at all; the rest of a config stays with the school.
CENTRAL_SECTIONS = ("devices", "sinks")


def parse_dropins(bundle: VerifiedBundle, allow: Collection[str]) -> dict[str, dict[str, Any]]:
    """The bundle's ``conf.d`` files as TOML tables, by file name; BundleRefused("scope") for a
    part it may not set, BundleRefused("config") for a file that is not TOML."""
    if bundle.content("profiles") and "profiles" not in allow:
        raise BundleRefused(
            "scope",
            f"the bundle carries profiles ({', '.join(bundle.content('profiles'))}) "
            "and fleet.allow does not name profiles",
        )
    parsed: dict[str, dict[str, Any]] = {}
    for name, raw in bundle.content("conf.d").items():
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise BundleRefused("config", f"conf.d/{name} is not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise BundleRefused("config", f"conf.d/{name}: not valid TOML: {exc}") from None
        if outside := sorted(set(data) - set(CENTRAL_SECTIONS)):
            raise BundleRefused(
                "scope",
                f"conf.d/{name} sets [{'], ['.join(outside)}]; a bundle sets "
                f"only {' and '.join(CENTRAL_SECTIONS)} (the rest is the school's)",
            )
        if denied := sorted(set(data) - set(allow)):
            raise BundleRefused(
                "scope",
                f"conf.d/{name} sets [{'], ['.join(denied)}], which fleet.allow "
                f"does not name (it allows: {', '.join(allow) or 'nothing'})",
            )
        parsed[name] = data
    return parsed
