"""Live state of the agent, for the demo view, ``/metrics``, ``/healthz``, ``edge-agent status``,
systemd's status line and the agent's own ``edge_agent`` points."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from campus_core.clock import now_ms
from campus_core.readings import FieldValue, Reading

from .buffer import BufferStats


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
    #: Polls that failed on a bug in the driver rather than on the device (counted in failures too).
    internal_errors: int = 0
    #: When the device last answered (a poll that succeeded, or a reading pushed).
    last_ok_ms: int | None = None
    #: When its last reading was taken: a quiet device answers without news.
    last_data_ms: int | None = None
    #: Report by exception: fields sent and fields held back because they did not move.
    fields_sent: int = 0
    fields_suppressed: int = 0
    #: When the agent began to work this device (start or the reload that added it).
    since_ms: int = field(default_factory=lambda: now_ms())
    last_error: str | None = None
    #: The last reading (kept whole: its pairs are built only when someone asks for them).
    last_reading: Reading | None = None
    last_latency_s: float = 0.0
    #: The driver's own counters (requests, timeouts, rejected payloads...), read when asked.
    events: Callable[[], dict[str, int]] = field(default=dict, repr=False)
    #: A pushed device's session, up or not (None: polled, alive when its last poll answered).
    connected: Callable[[], bool] | None = field(default=None, repr=False)
    #: A pushed device's sensors by their topic tags, and when each last sent something.
    sensors: dict[tuple[tuple[str, str], ...], int] = field(default_factory=dict, repr=False)
    #: A sensor quiet this long shows as not alive.
    stale_after_s: float = 300.0

    @property
    def last_fields(self) -> tuple[tuple[str, FieldValue], ...]:
        """The ``(field, value)`` pairs of the last reading; none before the first."""
        return self.last_reading.fields if self.last_reading is not None else ()

    @property
    def up(self) -> bool:
        """Answered its last poll."""
        return self.last_ok_ms is not None and self.consecutive_failures == 0

    @property
    def alive(self) -> bool:
        """Answering, quiet or not: its last poll succeeded, or its session is up (pushed)."""
        if self.connected is not None:
            return self.connected()
        return self.up


@dataclass
class SinkStatus:
    """How one sink is doing."""

    name: str
    url: str
    sent_points: int = 0
    sent_requests: int = 0
    dead_points: int = 0
    failures: int = 0
    #: Failures because the store refused the credentials (401/403), counted in failures too.
    auth_failures: int = 0
    consecutive_failures: int = 0
    #: Requests the store answered 429 or 503, or did not answer in time (in failures too).
    throttled: int = 0
    #: The pacing's limit on requests in flight; below 1, the share of time spent sending.
    concurrency: float = 1.0
    last_ok_ms: int | None = None
    last_error: str | None = None

    def failing_for(self, now: int, since_ms: int) -> float:
        """Seconds since the sink last succeeded (or since ``since_ms``), 0 while it succeeds.

        The agent writes its own metrics every interval, so a healthy sink always has
        something to send: the time since the last success is the length of the outage.
        """
        if self.consecutive_failures == 0:
            return 0.0
        return max(0.0, (now - max(self.last_ok_ms or 0, since_ms)) / 1000)


@dataclass
class Refusal:
    """A city bundle the agent would not apply, and why."""

    reason: str
    message: str
    version: int | None
    sha256: str | None
    at_ms: int


@dataclass
class BundleStatus:
    """The city's bundles as this process saw them (``[fleet]``)."""

    #: The bundle in force: version (0 without one), the manifest's SHA-256, when it was applied.
    version: int = 0
    sha256: str | None = None
    applied_ms: int | None = None
    refused_total: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    last_refusal: Refusal | None = None
    checks: int = 0
    fetch_failures: int = 0
    last_check_ms: int | None = None
    last_fetch_error: str | None = None


@dataclass
class AgentStatus:
    """Counters of this process since it started."""

    devices: dict[str, DeviceStatus] = field(default_factory=dict)
    sinks: dict[str, SinkStatus] = field(default_factory=dict)
    points_accepted: int = 0
    points_buffered: int = 0
    points_dropped: int = 0
    buffer_errors: int = 0
    started_ms: int = field(default_factory=now_ms)
    reloads: int = 0
    reload_failures: int = 0
    last_reload_error: str | None = None
    #: One SHA-256 over every file of the config in force (``edge_agent.audit.digest``).
    config_sha256: str = ""
    bundle: BundleStatus = field(default_factory=BundleStatus)
    #: The latest snapshot of the buffer (refreshed every interval and on each health request).
    buffer: BufferStats | None = None
    buffer_at_ms: int = 0

    def uptime_s(self, now: int | None = None) -> float:
        """Seconds since this process started."""
        return ((now or now_ms()) - self.started_ms) / 1000

    def devices_up(self) -> list[DeviceStatus]:
        """Devices that answered their last poll."""
        return [d for d in self.devices.values() if d.up]

    def devices_down(self) -> list[DeviceStatus]:
        """Devices that did not answer their last poll (those not polled yet are neither)."""
        return [d for d in self.devices.values() if d.consecutive_failures > 0]

    def summary(self) -> str:
        """One line for systemd's status (``systemctl status``): devices, buffer, failing sinks."""
        parts = [
            f"devices {len(self.devices_up())} up, {len(self.devices_down())} down of {len(self.devices)}"
        ]
        if self.buffer is not None:
            waiting = max((b.points for b in self.buffer.backlog), default=self.buffer.points)
            parts.append(f"{waiting} points waiting in the buffer")
        failing = [s.name for s in self.sinks.values() if s.consecutive_failures]
        if failing:
            parts.append(f"sink failing: {', '.join(failing)}")
        return "; ".join(parts)
