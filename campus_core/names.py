"""The naming rules every config shares: device, sink, school and measurement names, field names.

Each rule is an ``Annotated`` string type, so a model says ``name: Name`` and the rule lives
here once; :data:`PATTERN_WORDS` says each rule in a technician's words, for the error a
config that breaks it gets.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
SNAKE_CASE_PATTERN = r"^[a-z][a-z0-9_]*$"

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
"""A device, sink, school, campus, group or measurement name: ``a301-iaq``, ``sh-031``."""

SnakeCase = Annotated[str, StringConstraints(pattern=SNAKE_CASE_PATTERN)]
"""A field or tag key, snake_case with its unit: ``co2_ppm``, ``voltage_l1_v``."""

#: What each rule allows, in words (pydantic's own message quotes the regex).
PATTERN_WORDS = {
    SNAKE_CASE_PATTERN: "must be snake_case with its unit: lower-case letters, digits and _, "
    "starting with a letter (e.g. co2_ppm, voltage_l1_v)",
    NAME_PATTERN: "may hold letters, digits, '.', '_' and '-', starting with a letter or digit",
}

_NAME = re.compile(NAME_PATTERN)
_SNAKE_CASE = re.compile(SNAKE_CASE_PATTERN)


def is_name(text: str) -> bool:
    """Whether ``text`` is a valid :data:`Name`."""
    return _NAME.match(text) is not None


def is_snake_case(text: str) -> bool:
    """Whether ``text`` is a valid :data:`SnakeCase` key."""
    return _SNAKE_CASE.match(text) is not None
