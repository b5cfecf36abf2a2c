"""``edge-agent import points``: a point table in, a profile out, or every problem listed.

read (formats) -> entries (template, kepware, ede) -> validated (build) -> profile text (profile)
-> tried by the config loader as ``edge-agent check`` would. Nothing is written here; the
command writes the text once all of it passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from campus_core.names import is_name

from ..config import Problem
from . import formats
from .build import TARGETS, build
from .draft import Draft, Entry, Options
from .problems import PointTableError, TableProblem
from .profile import ProfileText, try_profile

_ENTRY = re.compile(r"\.(?:registers|nodes|objects)\[(\d+)\]")


@dataclass(frozen=True)
class Imported:
    """A profile made from a point table: its text and what it holds."""

    text: str
    points: int
    measurement: str
    kind: str
    format: str
    #: What the table holds that the agent reads nothing of (an EDE file's device object...).
    left_out: tuple[str, ...] = ()


def import_points(path: Path, options: Options, name: str, format: str | None = None) -> Imported:
    """The profile ``name`` made from the table at ``path``; PointTableError lists every problem."""
    draft = formats.read(path, options, format)
    entries = build(draft, options)
    settings = _settings(draft, options, name)
    if not draft.entries and not draft.problems:
        draft.problems.append(draft.table.problem(None, None, "has no points below its header row"))
    if draft.problems:
        raise PointTableError(draft.sorted_problems())
    target = TARGETS[options.protocol]
    profile = ProfileText(
        target, str(path), draft.table.sheet.name, draft.format, settings, notes=draft.notes
    )
    profile.entries = [(entry.row.number, entry.label, keys) for entry, keys in entries]
    text = profile.render(name)
    checked = try_profile(text, name, target)
    if checked:
        raise PointTableError([_from_check(problem, path, draft, entries) for problem in checked])
    tags = settings["tags"]
    assert isinstance(tags, dict)
    return Imported(
        text,
        len(entries),
        str(settings["measurement"]),
        str(tags["kind"]),
        draft.format,
        tuple(draft.left_out),
    )


def _from_check(
    problem: Problem, path: Path, draft: Draft, entries: list[tuple[Entry, dict[str, object]]]
) -> TableProblem:
    """A problem the config loader found, at the row of the entry it is about where that shows."""
    match = _ENTRY.search(problem.path)
    row: int | None = None
    if match is not None and int(match.group(1)) < len(entries):
        row = entries[int(match.group(1))][0].row.number
    else:
        # A problem of the whole device names the register by its field or tag.
        row = next(
            (
                entry.row.number
                for entry, keys in entries
                if any(f"{keys.get(k)!r}" in problem.message for k in ("field", "tag") if k in keys)
            ),
            None,
        )
    return TableProblem(
        str(path),
        f"edge-agent check: {problem.path}: {problem.message}",
        sheet=draft.table.sheet.name,
        row=row,
        value=str(problem.given) if problem.has_given else None,
    )


def _settings(draft: Draft, options: Options, name: str) -> dict[str, object]:
    """measurement, the other settings, and tags with ``kind`` (the profile's name unless the table says)."""
    settings: dict[str, object] = {}
    measurement = options.measurement or draft.settings.get("measurement")
    if not isinstance(measurement, str) or not measurement:
        draft.problems.append(
            draft.table.problem(
                None,
                None,
                "no measurement: give --measurement (e.g. classroom_env, energy_meter, hvac) or a "
                "'measurement' row above the header",
            )
        )
    elif not is_name(measurement):
        row = None if options.measurement else draft.setting_rows.get("measurement")
        draft.problems.append(
            draft.table.problem(
                row, None, "the measurement may hold letters, digits, '.', '_' and '-' only", measurement
            )
        )
    settings["measurement"] = measurement
    for key, value in draft.settings.items():
        if key not in ("measurement", "kind", "tags"):
            settings[key] = value
    extra = draft.settings.get("tags")
    tags = {"kind": str(draft.settings.get("kind") or name)}
    if isinstance(extra, dict):
        tags |= {str(k): str(v) for k, v in extra.items()}
    settings["tags"] = tags
    return settings
