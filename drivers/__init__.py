"""Device drivers: each knows one protocol and hands back plain readings.

A driver imports nothing from the buffer, the sinks or the CLI. Each protocol offers a
config model (one ``[[devices.<protocol>]]`` entry) that satisfies :class:`DeviceConfig`;
the agent asks it for a :class:`Driver` (polled at the device's interval) or a
:class:`Listener` (pushes readings as they come, e.g. MQTT). Drivers answer with
:class:`Reading` objects or raise :class:`DeviceError` naming the device and what went wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields, is_dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

FieldValue = float | int | bool
"""A field value as a driver hands it over: already scaled into the schema's unit."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One point: the values a device gave in one poll, in field order.

    ``fields`` holds ``(name, value)`` pairs so that the hot path builds no dict per poll.
    ``tags`` carries tags that only the device knows at poll time (a table row's index);
    the device's static tags are added later, once, by the normaliser. ``measurement``
    overrides the device's measurement for this point (an SNMP table beside its scalars).
    """

    device: str
    time_ms: int
    fields: tuple[tuple[str, FieldValue], ...]
    tags: tuple[tuple[str, str], ...] = ()
    measurement: str | None = None


class DeviceError(Exception):
    """A poll failed; the message names the device and says what to check."""

    def __init__(self, device: str, reason: str) -> None:
        super().__init__(f"device {device!r}: {reason}")
        self.device = device
        self.reason = reason


class Driver(Protocol):
    """What the scheduler needs of a device driver."""

    @property
    def name(self) -> str:
        """The device name from the config."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def poll(self) -> list[Reading]:
        """Read the device once; raise :class:`DeviceError` if nothing could be read."""
        ...


Deliver = Callable[[list[Reading]], Awaitable[None]]
"""Hands readings to the agent; returns once they are committed to the on-disk buffer."""


@runtime_checkable
class Listener(Protocol):
    """A device that pushes readings (MQTT) instead of being polled."""

    @property
    def name(self) -> str:
        """The device name from the config."""
        ...

    async def run(self, deliver: Deliver) -> None:
        """Receive until cancelled; await ``deliver`` before acknowledging anything upstream."""
        ...


class DeviceConfig(Protocol):
    """What every ``[[devices.<protocol>]]`` entry offers the agent."""

    @property
    def name(self) -> str:
        """Unique device name; the ``device`` tag."""
        ...

    @property
    def interval(self) -> float | None:
        """Poll interval in seconds; None takes the agent's."""
        ...

    @property
    def measurement(self) -> str | None:
        """The measurement of its points."""
        ...

    @property
    def tags(self) -> dict[str, str]:
        """Extra tags (building, room, kind...)."""
        ...

    @property
    def pushed(self) -> bool:
        """True when the device sends its readings (``create`` gives a Listener), False when polled."""
        ...

    def create(self) -> Driver | Listener:
        """A new driver (polled) or listener (pushed) for this device."""
        ...

    def describe(self) -> str:
        """One line for ``edge-agent check``: address and what is read."""
        ...


def counters(stats: object) -> dict[str, int]:
    """A driver's stats dataclass as flat counters: ``timeouts``, ``exceptions_2``, ``rejected_not_json``.

    Drivers keep a ``stats`` dataclass of plain numbers and dicts of numbers; the agent reads
    it through this when metrics are scraped, so the hot path only increments integers.
    """
    flat: dict[str, int] = {}
    if not is_dataclass(stats):
        return flat
    for item in fields(stats):
        value = getattr(stats, item.name)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            flat[item.name] = value
        elif isinstance(value, dict):
            for key, count in value.items():
                if isinstance(count, int) and not isinstance(count, bool):
                    flat[f"{item.name}_{key}"] = count
    return flat
