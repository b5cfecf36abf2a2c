"""Device drivers: each knows one protocol and hands back plain readings.

A driver imports nothing from the buffer, the sinks or the CLI. The agent builds one
driver per configured device, opens it with ``async with`` and calls :meth:`Driver.poll`
at the device's interval; the driver answers with :class:`Reading` objects or raises
:class:`DeviceError` naming the device and what went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

FieldValue = float | int | bool
"""A field value as a driver hands it over: already scaled into the schema's unit."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One point: the values a device gave in one poll, in field order.

    ``fields`` holds ``(name, value)`` pairs so that the hot path builds no dict per poll.
    ``tags`` carries tags that only the device knows at poll time (a table row's index);
    the device's static tags are added later, once, by the normaliser.
    """

    device: str
    time_ms: int
    fields: tuple[tuple[str, FieldValue], ...]
    tags: tuple[tuple[str, str], ...] = ()


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
