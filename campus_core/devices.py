"""What the agent needs of a device: the Driver, Listener and DeviceConfig protocols.

A driver imports nothing from the buffer, the sinks or the CLI. Each protocol offers a
config model (one ``[[devices.<protocol>]]`` entry) that satisfies :class:`DeviceConfig`;
the agent asks it for a :class:`Driver` (polled at the device's interval) or a
:class:`Listener` (pushes readings as they come, e.g. MQTT). Drivers answer with
:class:`~campus_core.readings.Reading` objects or raise
:class:`~campus_core.readings.DeviceError` naming the device and what went wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from campus_core.readings import Reading
from campus_core.reporting import DeviceReporting, FieldSettings


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


@runtime_checkable
class Connection(Protocol):
    """A pushed device's link to its source (an MQTT broker), for telling quiet from dead.

    A listener that offers it is alive while ``connected``; ``connections`` counts the
    sessions it opened, so the agent sees a reconnect (after which the first readings go
    out whole); each sensor behind it is alive while it sent something within ``stale_after``.
    """

    @property
    def connected(self) -> bool:
        """Subscribed on a live connection now."""
        ...

    @property
    def connections(self) -> int:
        """Sessions opened so far."""
        ...

    @property
    def stale_after(self) -> float:
        """Seconds a sensor behind it may send nothing before it shows as not alive."""
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

    def reporting(self) -> tuple[DeviceReporting, list[FieldSettings]]:
        """Its report keys and each configured field's: name, own keys, whether it is a number."""
        ...

    def create(self) -> Driver | Listener:
        """A new driver (polled) or listener (pushed) for this device."""
        ...

    def describe(self) -> str:
        """One line for ``edge-agent check``: address and what is read."""
        ...
