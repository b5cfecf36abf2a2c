"""The event loop the agent runs on: uvloop where it is installed, asyncio's own otherwise.

uvloop (libuv) halves the loop's own cost per socket event, which is most of the agent's
CPU when it polls fast devices (bench/ratio.py; docs/decisions.md has the figures). It is a
dependency on Linux; anywhere it is missing, or with ``EDGE_AGENT_EVENT_LOOP=asyncio`` (to
rule the loop out when chasing a bug), the agent runs on asyncio's loop unchanged.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: Set to ``asyncio`` to run on asyncio's own loop even where uvloop is installed.
ENV = "EDGE_AGENT_EVENT_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None for asyncio's default loop."""
    if os.environ.get(ENV, "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """Like :func:`asyncio.run`, on the loop :func:`loop_factory` picks."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
