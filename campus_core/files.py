"""Files a config names: secrets, keys and certificates must exist and be readable."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator


def readable_file(path: Path) -> Path:
    """``path`` itself, or ValueError unless it is a readable regular file."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ValueError(f"file {str(path)!r} does not exist; create it or fix the path") from None
    except PermissionError:
        raise ValueError(f"file {str(path)!r} cannot be read by this user") from None
    if not stat.S_ISREG(mode):
        raise ValueError(f"{str(path)!r} is not a regular file")
    if not os.access(path, os.R_OK):
        raise ValueError(f"file {str(path)!r} cannot be read by this user")
    return path


#: A config key that names a file of secrets, keys or certificates: it must be there and be
#: readable when the config loads (what it holds is read when it is needed).
SecretFile = Annotated[Path, AfterValidator(readable_file)]


class SecretError(ValueError):
    """A secret that cannot be used when it is needed; the message names the key and the file."""


def read_secret_file(path: Path, key: str) -> str:
    """The text of ``path`` (named by config key ``key``), read at the moment it is needed.

    Secrets are read at use, not at load, so that a rotated token or key is picked up; what
    goes wrong then is a :class:`SecretError` that names the key and the file.
    """
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SecretError(f"cannot read {key} {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SecretError(f"cannot read {key} {str(path)!r}: not UTF-8 text (byte {exc.start})") from None
