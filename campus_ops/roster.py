"""The roster: every school the city store accepts, with its code, name and token file.

``deploy/central/roster.example.toml`` shows the form. A roster with a duplicate school or
a bad code is refused with the file and the key named. The token files are the schools'
write secrets: only ``campus-ops vmauth`` reads them (``load_roster(path, tokens=True)``
checks each is readable before anything is rendered); an operator who lists the schools
(``campus-ops fleet``, the console) needs none of them.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from campus_core.files import SecretError, read_secret_file, readable_file
from edge_agent.config.errors import format_loc

#: A school code as the agent's ``agent.school`` takes it, and as it goes into a label.
SCHOOL_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class RosterError(Exception):
    """The roster cannot be used; the message names the file and the key."""


class School(BaseModel):
    """One school of the roster."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(description="school code from the city data standard, e.g. sh-031")
    name: str = Field(min_length=1, description="the school's name, for people")
    token_file: Path = Field(description="file holding the bearer token of this school's gateway")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not SCHOOL_CODE.match(value):
            raise ValueError(
                "a school code is lower-case letters, digits and '-', "
                "starting with a letter or digit, at most 63 characters"
            )
        return value


class Roster(BaseModel):
    """Every school of the city: ``[[schools]]`` tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schools: list[School] = Field(min_length=1)

    def codes(self) -> list[str]:
        """The school codes, in roster order."""
        return [school.code for school in self.schools]


def load_roster(path: Path, *, tokens: bool = False) -> Roster:
    """The roster in ``path``, checked: codes unique; with ``tokens``, every token file readable.

    Relative token files are taken relative to the roster's folder.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RosterError(f"cannot read roster {str(path)!r}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: not valid TOML: {exc}") from None
    try:
        roster = Roster.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{path}: {format_loc(error['loc']) or '(top)'}: {error['msg']}"
            + (
                f" (given: {error['input']!r})"
                if error["type"] not in ("missing", "extra_forbidden")
                and not isinstance(error["input"], dict | list)
                else ""
            )
            for error in exc.errors()
        ]
        raise RosterError("\n".join(lines)) from None
    schools = []
    seen: dict[str, int] = {}
    for index, school in enumerate(roster.schools):
        key = f"schools[{index}]"
        if school.code in seen:
            raise RosterError(
                f"{path}: {key}.code: school {school.code!r} is already listed "
                f"at schools[{seen[school.code]}]; each school appears once"
            )
        seen[school.code] = index
        token_file = school.token_file if school.token_file.is_absolute() else path.parent / school.token_file
        if tokens:
            try:
                readable_file(token_file)
            except ValueError as exc:
                raise RosterError(f"{path}: {key}.token_file: {exc}") from None
        schools.append(school.model_copy(update={"token_file": token_file}))
    return Roster(schools=schools)


def read_token(roster_path: Path, index: int, school: School) -> str:
    """The school's token, stripped; an empty or unreadable file is a :class:`RosterError`."""
    key = f"schools[{index}].token_file"
    try:
        token = read_secret_file(school.token_file, key).strip()
    except SecretError as exc:
        raise RosterError(f"{roster_path}: {exc}") from None
    if not token:
        raise RosterError(
            f"{roster_path}: {key}: file {str(school.token_file)!r} is empty; "
            "put the school's bearer token in it"
        )
    if any(ch.isspace() for ch in token):
        raise RosterError(
            f"{roster_path}: {key}: the token in {str(school.token_file)!r} "
            "holds white space; a bearer token is one word"
        )
    return token
