"""Config problems as a technician reads them: file, key path, value given, what is allowed."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from campus_core.names import PATTERN_WORDS

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config."""

    source: str
    path: str
    message: str
    given: object = None
    has_given: bool = False

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        given = f" (given: {_show(self.given)})" if self.has_given else ""
        return f"{where}: {self.message}{given}"


class ConfigError(Exception):
    """The config cannot be used; ``problems`` lists every reason found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the config:\n{lines}")


def format_loc(loc: Iterable[str | int]) -> str:
    """``("devices", "modbus", 0, "port")`` -> ``devices.modbus[0].port``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the table at ``loc``, if any."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _item_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _item_model(annotation: Any) -> Any:
    # Look through list[...], dict[..., X] and X | None to the model inside.
    while get_origin(annotation) is not None:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if not args:
            return annotation
        annotation = args[-1]
    return annotation


def suggest(name: str, choices: Iterable[str]) -> str:
    """A did-you-mean hint, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def explain(kind: str, message: str, context: dict[str, object] | None, given: object) -> str:
    """pydantic's message in a technician's words where it speaks of regexes and literals."""
    context = context or {}
    if kind == "string_pattern_mismatch":
        return PATTERN_WORDS.get(str(context.get("pattern")), message)
    if kind == "literal_error" and isinstance(given, str):
        allowed = re.findall(r"'([^']*)'", str(context.get("expected", "")))
        return message + suggest(given, allowed)
    return message


def unreadable_variable(exc: SettingsError, overrides: dict[str, str]) -> Problem:
    """pydantic-settings could not read a variable (JSON that is not): name it and say why."""
    field = re.search(r'field "([^"]+)"', str(exc))
    section = field.group(1) if field else ""
    name = next((n for key, n in overrides.items() if key.split(".")[0] == section), None)
    source = f"environment variable {name}" if name else "environment"
    return Problem(
        source,
        section,
        f"not valid JSON ({exc.__cause__ or exc}); a table or list is written as JSON, "
        'e.g. EDGE_AGENT_LOG=\'{"level": "debug"}\'',
        os.environ.get(name) if name else None,
        name is not None,
    )


def problems_from(exc: ValidationError, root: type[BaseModel], where: Callable[[Loc], str]) -> list[Problem]:
    """pydantic's errors in a technician's words; ``where`` names the file (or variable) that set a key."""
    problems = []
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        kind = error["type"]
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            model = model_at(root, loc[:-1])
            allowed = sorted(model.model_fields) if model else []
            message = f"unknown key {key!r}{suggest(key, allowed)}"
            if allowed:
                message += f" (allowed here: {', '.join(allowed)})"
            problems.append(Problem(where(loc), format_loc(loc), message))
            continue
        if kind == "missing":
            problems.append(Problem(where(loc[:-1]), format_loc(loc), "required key is missing"))
            continue
        given = error.get("input")
        message = explain(kind, message, error.get("ctx"), given)
        shown = not isinstance(given, dict | list)
        problems.append(Problem(where(loc), format_loc(loc), message, given if shown else None, shown))
    return problems
