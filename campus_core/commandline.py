"""A driver's own command (``edge-agent scan <protocol>``) saying what is wrong with its arguments.

A scan builds its device's config model from the options given, so a bad option comes back
as pydantic's error on a config key. The technician typed options, not keys: the key is
written as the option is (``local-address``, not ``local_address``), and pydantic's own
``Value error,`` prefix is left out.
"""

from __future__ import annotations

from pydantic import ValidationError


def first_error(exc: Exception) -> str:
    """The first problem of ``exc`` in the words of the command's options."""
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"{where.replace('_', '-')}: {message}" if where else message
    return str(exc)
