"""Live state of the agent, for the demo view, ``status`` and (later) health endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers import FieldValue


@dataclass
class DeviceStatus:
    """How one device is doing."""

    name: str
    protocol: str
    interval: float
    polls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    overruns: int = 0
    last_ok_ms: int | None = None
    last_error: str | None = None
    last_fields: tuple[tuple[str, FieldValue], ...] = ()
    last_latency_s: float = 0.0

    @property
    def up(self) -> bool:
        """Answered its last poll."""
        return self.last_ok_ms is not None and self.consecutive_failures == 0


@dataclass
class SinkStatus:
    """How one sink is doing."""

    name: str
    url: str
    sent_points: int = 0
    sent_requests: int = 0
    dead_points: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_ok_ms: int | None = None
    last_error: str | None = None


@dataclass
class AgentStatus:
    """Counters of this process since it started."""

    devices: dict[str, DeviceStatus] = field(default_factory=dict)
    sinks: dict[str, SinkStatus] = field(default_factory=dict)
    points_accepted: int = 0
    points_buffered: int = 0
    points_dropped: int = 0
    buffer_errors: int = 0
