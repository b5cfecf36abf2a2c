"""``EDGE_AGENT_<SECTION>__<KEY>`` variables over the files, through pydantic-settings.

pydantic-settings reads the variables (prefix ``EDGE_AGENT_``, ``__`` steps into a table,
any case, JSON for a list or a table) and lays them over the files' values, which the
loader hands it as the settings' init source. A variable whose first part names no
section (``EDGE_AGENT_EVENT_LOOP``, say) is not config and is left alone; one that names a
key no section has is an error naming the variable.

What the variables give goes through the same steps as the files' values before it is
validated (the loader's :func:`finishing` hook): ``${CREDENTIALS_DIRECTORY}`` expanded, and
a device a variable adds filled from its profile.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

ENV_PREFIX = "EDGE_AGENT_"
NESTING = "__"

Finish = Callable[[dict[str, Any]], dict[str, Any]]
_finish: ContextVar[Finish | None] = ContextVar("environment_finish", default=None)


@contextlib.contextmanager
def finishing(finish: Finish) -> Iterator[None]:
    """Within this block, what the variables give passes through ``finish`` before validation."""
    token = _finish.set(finish)
    try:
        yield
    finally:
        _finish.reset(token)


class Overrides(PydanticBaseSettingsSource):
    """pydantic-settings' own environment source, with the loader's steps applied to what it read."""

    def __init__(self, settings_cls: type[BaseSettings], environment: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._environment = environment

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: :meth:`__call__` hands over the whole of what the environment gave."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        data = self._environment()
        finish = _finish.get()
        return finish(data) if finish is not None else data


def variables(sections: Mapping[str, object], environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The config variables set, by the key path they set (``"buffer.max_disk"``): for errors.

    Only variables whose first part is a section of ``sections`` count, as pydantic-settings
    reads them; the value is the variable's name as it was written.
    """
    found = {}
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split(NESTING)
        if parts[0] in sections and all(parts):
            found[".".join(parts)] = name
    return found
