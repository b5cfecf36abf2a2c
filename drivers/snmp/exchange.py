"""What an SNMP exchange answers, whichever engine sent it: the types both engines share.

The driver's own engine for v1/v2c (session.py) and the pysnmp engine for SNMPv3 (usm.py)
both answer with a :class:`Response` or raise :class:`SnmpError`; both read their secrets
through here. Neither engine imports the other's module for these, so the arrow runs one way:
session -> usm -> exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from campus_core.files import SecretError, read_secret_file

from .config import SnmpDevice
from .convert import Raw
from .mibs import Oid

#: USM passphrases shorter than this are refused by agents (RFC 3414, 11.2).
MIN_PASSPHRASE = 8


class SnmpError(Exception):
    """A request got no usable answer; the message says what to check."""

    def __init__(self, reason: str, timeout: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timeout = timeout


@dataclass
class Response:
    """An answer: its error status (None when fine), the 1-based index it names, the values."""

    status: str | None
    index: int
    varbinds: list[tuple[Oid, Raw]]


def timeout_reason(config: SnmpDevice, address: str) -> str:
    """Why a device may not have answered, by what its version makes likely."""
    tries = f"{config.retries + 1} tr{'y' if config.retries == 0 else 'ies'} of {config.timeout:g}s"
    reason = f"no answer from {address} ({tries}): is the device up and reachable, is the port right"
    if config.version == "3":
        if config.security_level == "authPriv":
            return (
                reason + ", is priv right? An agent drops requests it cannot decrypt (wrong priv "
                "key or protocol)"
            )
        return reason + "?"
    return reason + ", is the community right? An agent ignores requests with a wrong community"


def read_secret(path: Path, key: str) -> str:
    """The secret held in the file at ``path`` (config key ``key``), without its line ending."""
    try:
        text = read_secret_file(path, key)
    except SecretError as exc:
        raise SnmpError(str(exc)) from None
    # Only the line ending goes: spaces may be part of a secret.
    secret = text.rstrip("\r\n")
    if not secret:
        raise SnmpError(f"{key} {str(path)!r} is empty")
    return secret


def read_passphrase(path: Path, key: str) -> str:
    """A USM passphrase from its file; SnmpError when it is too short for an agent to accept."""
    secret = read_secret(path, key)
    if len(secret) < MIN_PASSPHRASE:
        raise SnmpError(
            f"{key} {str(path)!r} holds a passphrase of {len(secret)} characters; SNMPv3 "
            f"needs at least {MIN_PASSPHRASE}"
        )
    return secret
