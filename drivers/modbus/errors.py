"""What can go wrong on a Modbus link, what each failure is called, and how often it happened."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

#: Modbus exception codes (application protocol v1.1b3, section 7) and what they mean here.
EXCEPTION_CODES = {
    1: "illegal function (the device does not support this table)",
    2: "illegal data address (check the register addresses against the manual)",
    3: "illegal data value (the read is too long for the device)",
    4: "device failure",
    5: "acknowledge (device busy with a long operation)",
    6: "device busy",
    8: "memory parity error",
    10: "gateway path unavailable (serial server has no route to this unit)",
    11: "gateway target did not respond (check the unit id and the RS-485 wiring)",
}

#: Codes that say "not this address/table": the driver splits the read or skips the value.
REFUSED = frozenset({1, 2, 3})
#: Codes that say "ask again shortly".
BUSY = frozenset({5, 6})


def describe_exception(code: int) -> str:
    """``exception 2: illegal data address (...)``."""
    return f"exception {code}: {EXCEPTION_CODES.get(code, 'unknown exception code')}"


class LinkError(Exception):
    """A read could not be completed on the link; the message says why."""


class LinkDown(LinkError):
    """The link could not be opened (TCP refused or unreachable, serial port missing)."""


class NoAnswer(LinkError):
    """Nothing usable came back within the timeout."""


class BadAnswer(LinkError):
    """Something came back that is not a valid answer to the request: rejected and counted."""


class WriteRefused(LinkError):
    """Something tried to send a function code other than the reads 1-4: never sent."""


@dataclass
class LinkStats:
    """Counters of one physical link, shared by the devices on it."""

    requests: int = 0
    timeouts: int = 0
    rejected_frames: int = 0
    bad_answers: int = 0
    connects: int = 0
    function_codes: Counter[int] = field(default_factory=Counter)


@dataclass
class DeviceStats:
    """Counters of one device, for logs and health: what the driver met and did about it."""

    polls: int = 0
    requests: int = 0
    exceptions: Counter[int] = field(default_factory=Counter)
    timeouts: int = 0
    bad_answers: int = 0
    busy_retries: int = 0
    splits: int = 0
    skipped_values: int = 0
    #: The asset register's probe (identity.py): ``timeouts`` (requests unanswered) and
    #: ``garbled`` (answers that are no answer), present once counted, so /metrics shows
    #: them as identity_timeouts and identity_garbled only when they happened.
    identity: Counter[str] = field(default_factory=Counter)
