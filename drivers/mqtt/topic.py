"""Topic patterns: ``campus/{building}/{room}/iaq`` is the filter ``campus/+/+/iaq`` whose
named segments become tags of the points its messages give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAMED = re.compile(r"^\{([a-z][a-z0-9_]*)\}$")
#: Tags every point carries already; a topic segment cannot take their name.
RESERVED_TAGS = frozenset({"school", "campus", "device"})


@dataclass(frozen=True, slots=True)
class TopicPattern:
    """One subscription: the MQTT filter and which levels name a tag."""

    pattern: str
    filter: str
    levels: tuple[str, ...]
    names: tuple[tuple[int, str], ...]

    @classmethod
    def parse(cls, pattern: str) -> TopicPattern:
        """Parse ``a/{name}/+/#``; raise ValueError saying what is wrong and how to write it."""
        if not pattern:
            raise ValueError("a topic filter cannot be empty")
        if "\x00" in pattern:
            raise ValueError("a topic filter cannot contain a NUL character")
        levels = pattern.split("/")
        filter_levels: list[str] = []
        names: list[tuple[int, str]] = []
        for index, level in enumerate(levels):
            named = _NAMED.match(level)
            if named:
                name = named.group(1)
                if name in RESERVED_TAGS:
                    raise ValueError(
                        f"topic segment {{{name}}}: the tag {name!r} is set by the agent; use another name"
                    )
                if name in (n for _, n in names):
                    raise ValueError(f"topic segment {{{name}}} appears twice")
                names.append((index, name))
                filter_levels.append("+")
                continue
            if "{" in level or "}" in level:
                raise ValueError(
                    f"topic level {level!r}: a tag is a whole level written {{name}} "
                    'in lower case, e.g. "campus/{building}/{room}/iaq"'
                )
            if level == "#" and index != len(levels) - 1:
                raise ValueError("'#' must be the last level of a topic filter")
            if level not in ("+", "#") and ("+" in level or "#" in level):
                raise ValueError(f"topic level {level!r}: '+' and '#' stand alone as a whole level")
            filter_levels.append(level)
        return cls(pattern, "/".join(filter_levels), tuple(filter_levels), tuple(names))

    def match(self, topic: str) -> tuple[tuple[str, str], ...] | None:
        """The tags a topic gives, or None when the topic does not match this filter."""
        parts = topic.split("/")
        levels = self.levels
        for index, level in enumerate(levels):
            if level == "#":
                # "a/#" also matches "a" itself (MQTT 3.1.1, 4.7.1.2).
                break
            if index >= len(parts):
                return None
            if level != "+" and level != parts[index]:
                return None
        else:
            if len(parts) != len(levels):
                return None
        if topic.startswith("$") and levels[0] in ("+", "#"):
            return None  # wildcards never match $SYS-style topics (4.7.2)
        return tuple((name, parts[index]) for index, name in self.names)

    @property
    def tag_names(self) -> tuple[str, ...]:
        """The tags this pattern sets."""
        return tuple(name for _, name in self.names)
