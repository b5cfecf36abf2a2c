"""Writing a profile TOML from validated entries, and trying it as ``edge-agent check`` would.

The file says where it came from: a header comment with the source file and sheet, and each
``[[registers]]`` (or ``[[nodes]]``, ``[[objects]]``) entry with the row it was read from.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge_agent.config import ConfigError, Problem, load

from .build import Target

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(value: object) -> str:
    """One TOML value: a string, number, boolean or inline table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string with its non-ASCII letters kept is a valid TOML basic string.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        pairs = ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return f"{{ {pairs} }}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def toml_key(key: str) -> str:
    """A key, quoted only where TOML needs it."""
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


@dataclass
class ProfileText:
    """What a profile file holds, before it is written."""

    target: Target
    source: str
    sheet: str | None
    format: str
    settings: dict[str, object]
    entries: list[tuple[int, str, dict[str, object]]] = field(default_factory=list)
    #: More lines for the header comment, about the source.
    notes: list[str] = field(default_factory=list)

    def render(self, name: str) -> str:
        """The profile's text; ``name`` is the profile's name (its file's stem)."""
        sheet = f", sheet {json.dumps(self.sheet, ensure_ascii=False)}" if self.sheet else ""
        lines = [
            f"# {name}: imported from {self.source}{sheet} ({self.format}) by edge-agent import points.",
            "# Each entry names the row of the table it was read from. Check the values against the",
            "# device before relying on them: `edge-agent test` polls it once and prints what it read.",
            *(f"# {note}" for note in self.notes),
        ]
        for key, value in self.settings.items():
            lines.append(f"{key} = {toml_value(value)}")
        for row, label, keys in self.entries:
            note = " ".join(f"row {row}: {label}".split())
            lines += ["", f"[[{self.target.section}]]  # {note}"]
            lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in keys.items()]
        return "\n".join(lines) + "\n"


def try_profile(text: str, name: str, target: Target) -> Sequence[Problem]:
    """The problems ``edge-agent check`` finds with a device using this profile; none when it is good.

    The profile is loaded by the agent's own config loader, beside a minimal agent.toml with
    one device of the protocol that names it.
    """
    with tempfile.TemporaryDirectory(prefix="edge-agent-import-") as folder:
        root = Path(folder)
        (root / "profiles").mkdir()
        (root / "profiles" / f"{name}.toml").write_text(text, encoding="utf-8")
        device = {"name": "imported", "profile": name, **target.device}
        entry = "\n".join(f"{k} = {toml_value(v)}" for k, v in device.items())
        config = root / "agent.toml"
        config.write_text(
            f'[agent]\nschool = "import-check"\nstate_dir = "state"\n\n'
            f"[[devices.{target.protocol}]]\n{entry}\n",
            encoding="utf-8",
        )
        try:
            load(config)
        except ConfigError as exc:
            return exc.problems
    return []
