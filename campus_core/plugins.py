"""A component named by ``"module:attr"`` and imported only when first built.

A config model knows which component it configures, and the component takes its model:
if both imported each other, the modules would form a cycle. The model names the component
through a :class:`Factory` instead, so the arrow of imports runs one way (component ->
model) and the model still builds its component (``device.create()``).
"""

from __future__ import annotations

import importlib
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class Factory(Generic[T]):
    """Builds a ``T`` by calling ``attr`` of ``module``, imported on the first call.

    >>> Factory[object]("builtins:object")()  # doctest: +ELLIPSIS
    <object object at ...>
    """

    __slots__ = ("_attr", "_module", "_target")

    def __init__(self, target: str) -> None:
        module, sep, attr = target.partition(":")
        if not sep or not module or not attr:
            raise ValueError(f"factory target {target!r} is not 'module:attr'")
        self._module = module
        self._attr = attr
        self._target: Any = None

    @property
    def name(self) -> str:
        """``module:attr``, for messages."""
        return f"{self._module}:{self._attr}"

    def resolve(self) -> Any:
        """The callable itself, imported once."""
        if self._target is None:
            self._target = getattr(importlib.import_module(self._module), self._attr)
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> T:
        return cast(T, self.resolve()(*args, **kwargs))
