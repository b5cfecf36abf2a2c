"""Logging: structlog, readable on a terminal and JSON for journald; configured in one place."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
#: syslog priorities journald reads from a ``<N>`` line prefix, so ``journalctl -p warning`` works.
PRIORITIES = {"critical": 2, "exception": 3, "error": 3, "warning": 4, "info": 6, "debug": 7}
#: Event keys whose values are never written out, whoever passes them to a log call.
SECRET_KEYS = frozenset({"token", "password", "passphrase", "secret", "community", "auth_key", "priv_key"})


def configure(level: str = "info", fmt: Literal["auto", "console", "json"] = "auto") -> None:
    """Send structured logs to stderr at ``level``; "auto" picks console on a terminal."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    if use_json and under_journald(sys.stderr):
        renderer = _JournalPriority(renderer)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            redact_secrets,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries log through the standard library: keep their warnings, in the same stream.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")


def redact_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Blank the value of any key that names a secret: a safety net under every log call."""
    for key in event.keys() & SECRET_KEYS:
        event[key] = "[redacted]"
    return event


def under_journald(stream: TextIO) -> bool:
    """True when ``stream`` is the journal stream systemd connected (``$JOURNAL_STREAM``)."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return False
    return bool(expected) and expected == f"{info.st_dev}:{info.st_ino}"


class _JournalPriority:
    """Prefixes each rendered line with its syslog priority, which journald strips and keeps."""

    def __init__(self, renderer: structlog.types.Processor) -> None:
        self._renderer = renderer

    def __call__(self, logger: Any, name: str, event: MutableMapping[str, Any]) -> str:
        priority = PRIORITIES.get(str(event.get("level", name)), 6)
        line = self._renderer(logger, name, event)
        return f"<{priority}>{line if isinstance(line, str) else str(line)}"
