"""Validating once what many devices share: the lists a profile gives every device using it.

A campus has a thousand meters of one model; the loader hands each of them the same
``registers`` list object from the profile. Validated one by one, every device would get
its own copy of every register model (tens of MB for a large site, most of the agent's
memory). Within :func:`shared`, :func:`once` validates a list object the first time it is
met and gives later devices the same validated result. The models must then never be
changed after loading; nothing does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

_seen: ContextVar[dict[int, tuple[object, Any]] | None] = ContextVar("validated_once", default=None)


@contextlib.contextmanager
def shared() -> Iterator[None]:
    """Within this block, :func:`once` reuses what it validated for the same list object."""
    token = _seen.set({})
    try:
        yield
    finally:
        _seen.reset(token)


def once(value: object, validate: Callable[[object], Any]) -> Any:
    """``validate(value)``, or its earlier result for this very list object inside :func:`shared`."""
    seen = _seen.get()
    if seen is None or not isinstance(value, list):
        return validate(value)
    # The value is kept beside its result so that its id cannot be reused while cached.
    hit = seen.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    result = validate(value)
    seen[id(value)] = (value, result)
    return result
