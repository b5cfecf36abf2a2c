"""What a device states about itself, for the asset register: :class:`Identity` and its rules.

A driver that can ask its device who it is offers :class:`Identifying` (polled devices) or
:class:`IdentifyingListener` (pushed ones); the agent calls it when the device (re)connects
and once a day, and writes the answer to the store as one ``asset_info`` series per device
(docs/schema.md). The profile's ``make`` and ``model`` (:class:`IdentityKeys`) fill what the
device does not state.

Identity text comes from devices, so it is distrusted: :func:`clean_text` keeps printable
text only, at most :data:`MAX_TEXT` characters, and drops what is not text at all; both are
counted on the :class:`Identity` (``cleaned``, ``dropped``), so the agent can show them.
The values become tags, which the line-protocol encoder escapes; after cleaning they can
hold no control character, so nothing a device states can break a line.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Protocol, runtime_checkable

from pydantic import AfterValidator, BaseModel, Field

#: The longest identity value kept; longer ones are cut (and counted as cleaned).
MAX_TEXT = 128

RawText = str | bytes | None
"""An identity value as a device gave it: text, bytes, or None for "not stated"."""

#: The four values every register row has a column for.
CORE_KEYS = ("vendor", "model", "firmware", "serial")
#: Every key an identity may hold, and what it means (docs/schema.md lists them too).
KEYS: dict[str, str] = {
    "vendor": "who made it (Modbus VendorName, entPhysicalMfgName, OPC UA Manufacturer)",
    "model": "its model (Modbus ModelName or ProductCode, entPhysicalModelName, OPC UA Model)",
    "firmware": "the firmware or software it runs (MajorMinorRevision, SoftwareRev, SoftwareVersion)",
    "serial": "its serial number",
    "product_code": "Modbus ProductCode",
    "product_name": "Modbus ProductName",
    "vendor_url": "Modbus VendorUrl",
    "application": "Modbus UserApplicationName, BACnet application-software-version",
    "options": "SunSpec Opt",
    "hardware": "hardware revision (entPhysicalHardwareRev)",
    "firmware_rev": "entPhysicalFirmwareRev, where the firmware column holds entPhysicalSoftwareRev",
    "description": "SNMP sysDescr",
    "product_id": "SNMP sysObjectID, dotted",
    "sys_name": "SNMP sysName",
    "location": "SNMP sysLocation",
    "contact": "SNMP sysContact",
    "product_uri": "OPC UA BuildInfo ProductUri",
    "server_product": "OPC UA BuildInfo ProductName, when the machine names itself through DI",
    "server_version": "OPC UA BuildInfo SoftwareVersion, when the machine names itself through DI",
    "build": "OPC UA BuildInfo BuildNumber",
    "host": "the gateway's host name",
    "os": "the gateway's operating system",
    "kernel": "the gateway's kernel release",
    "agent": "the edge agent's version on the gateway",
}

#: Characters that are never kept: controls, format characters, surrogates, private use,
#: unassigned, line and paragraph separators. Whitespace of any kind becomes one space.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@dataclass(frozen=True, slots=True)
class Identity:
    """What one device states about itself: ``(key, text)`` pairs in :data:`KEYS` order.

    Build it with :meth:`stated`, which cleans every value; ``cleaned`` and ``dropped``
    count the values that had to be cleaned or could not be used (they do not take part
    in comparisons: two identities are equal when they state the same).
    """

    pairs: tuple[tuple[str, str], ...] = ()
    cleaned: int = field(default=0, compare=False)
    dropped: int = field(default=0, compare=False)

    @classmethod
    def stated(cls, values: Mapping[str, RawText] | Iterable[tuple[str, RawText]]) -> Identity:
        """An identity from raw values (text or bytes, None for "not stated"), cleaned.

        A key outside :data:`KEYS` is a bug in the caller: ValueError. A later value of a
        key already stated is ignored, so a caller lists its sources best first.
        """
        items = values.items() if isinstance(values, Mapping) else values
        found: dict[str, str] = {}
        counts = Cleaning()
        for key, raw in items:
            if key not in KEYS:
                raise ValueError(f"identity key {key!r} is not one of {', '.join(KEYS)}")
            if key in found:
                continue
            text = clean_text(raw, counts)
            if text is not None:
                # A campus of one model states the same vendor, model and firmware a
                # thousand times: one string each, not a thousand.
                found[key] = sys.intern(text)
        pairs = tuple((key, found[key]) for key in KEYS if key in found)
        return cls(pairs, counts.cleaned, counts.dropped)

    def get(self, key: str) -> str | None:
        """The value of ``key``, None when not stated."""
        for name, value in self.pairs:
            if name == key:
                return value
        return None

    def as_dict(self) -> dict[str, str]:
        """The pairs as a dict (for JSON and comparisons)."""
        return dict(self.pairs)

    def over(self, fallback: Identity) -> Identity:
        """This identity with what it does not state taken from ``fallback`` (the profile's)."""
        mine = self.as_dict()
        merged = {**fallback.as_dict(), **mine}
        pairs = tuple((key, merged[key]) for key in KEYS if key in merged)
        return Identity(pairs, self.cleaned + fallback.cleaned, self.dropped + fallback.dropped)

    def __bool__(self) -> bool:
        return bool(self.pairs)


@dataclass
class Cleaning:
    """Counts of what :func:`clean_text` had to do."""

    cleaned: int = 0
    dropped: int = 0


def clean_text(raw: str | bytes | None, counts: Cleaning | None = None) -> str | None:
    """``raw`` as printable text of at most :data:`MAX_TEXT` characters, or None.

    Bytes are read as UTF-8, else as GB18030 (Chinese devices' own encoding); bytes that
    are neither are no text: dropped and counted. Padding (NULs and spaces at the end, as
    Modbus strings have) goes silently. Control and format characters are removed and runs
    of whitespace become one space; a value that loses more characters than it keeps is
    garbage, dropped and counted; a value cut to the cap, or that lost some characters, is
    counted as cleaned. None or nothing left: None, not counted (nothing was stated).
    """
    counts = counts if counts is not None else Cleaning()
    if raw is None:
        return None
    if isinstance(raw, bytes):
        data = raw.rstrip(b"\x00 ")
        if not data:
            return None
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                raw = data.decode("gb18030")
            except UnicodeDecodeError:
                counts.dropped += 1
                return None
    kept: list[str] = []
    removed = 0
    space = False
    for char in raw.rstrip("\x00 "):
        if char.isspace():
            space = bool(kept)
            continue
        if char == "\ufffd" or unicodedata.category(char) in _DROPPED_CATEGORIES:
            removed += 1
            continue
        if space:
            kept.append(" ")
            space = False
        kept.append(char)
    if not kept:
        if removed:
            counts.dropped += 1
        return None
    if removed > len(kept):
        counts.dropped += 1
        return None
    text = "".join(kept)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT].rstrip()
        removed += 1
    if removed:
        counts.cleaned += 1
    return text


def _identity_text(value: str) -> str:
    """A ``make`` or ``model`` as a technician writes it: printable, within the cap."""
    counts = Cleaning()
    text = clean_text(value, counts)
    if text is None or counts.cleaned or counts.dropped:
        raise ValueError(
            f"must be printable text of at most {MAX_TEXT} characters without control characters "
            f'(it becomes a tag in the store), e.g. "Eastron"; got {value[:40]!r}'
        )
    return text


IdentityText = Annotated[str, AfterValidator(_identity_text)]
"""A ``make`` or ``model`` from the config."""


class IdentityKeys(BaseModel):
    """The asset register's keys of a ``[[devices.<protocol>]]`` entry (or its profile).

    ``identity = false`` turns the device's probe off (the register then knows only
    ``make`` and ``model``, and nothing is written for the device at all when neither is
    set). ``make`` and ``model`` are what the profile declares: the fallback for a device
    that does not state them itself.
    """

    identity: bool = Field(default=True, description="probe what the device states about itself")
    make: IdentityText | None = Field(default=None, description="the maker, as the profile declares it")
    model: IdentityText | None = Field(default=None, description="the model, as the profile declares it")

    def declared(self) -> Identity:
        """The identity the config declares: ``make`` as vendor, ``model`` as model."""
        return Identity.stated({"vendor": self.make, "model": self.model})

    @property
    def asset_address(self) -> str:
        """Where the device is reached, for the register (never a credential)."""
        return ""


@runtime_checkable
class Identifying(Protocol):
    """A polled driver that can ask its device who it is."""

    @property
    def connects(self) -> int:
        """Connections (or sessions) opened to the device so far; a new one may be a new device.

        Connectionless protocols (SNMP) answer 0: the agent then probes when the device
        answers again after failing.
        """
        ...

    async def identify(self) -> Identity:
        """What the device states now; raise :class:`~campus_core.readings.DeviceError`
        when it does not answer. Every request has the device's timeout."""
        ...


@dataclass(slots=True)
class Sighting:
    """One sensor behind a pushed device: what it last stated, where, and when it last spoke."""

    identity: Identity
    address: str
    seen_ms: int


SeriesTags = tuple[tuple[str, str], ...]
"""The tags that tell the sensors behind one pushed device apart (topic levels)."""


@runtime_checkable
class IdentifyingListener(Protocol):
    """A pushed device's listener that keeps what each of its sensors states."""

    @property
    def identity_changes(self) -> int:
        """Grows whenever a sensor is first heard or states something new."""
        ...

    def sightings(self) -> dict[SeriesTags, Sighting]:
        """Every sensor heard so far (a copy)."""
        ...
