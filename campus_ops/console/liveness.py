"""Whether each device is alive, as the store tells it: the one place the console decides.

Liveness reaches the store apart from data (issue #31) as the agent's ``edge_agent_device``
points (docs/schema.md), one per device every agent interval: ``alive`` is 1 while the device
answers, quiet or not (its last poll succeeded, a subscription's keep-alive read answered, a
pushed device's session is up), and ``silent_s`` is the age of its last reading. A device
that reports on change, or a subscription with nothing new, is silent and up. A device that
covers several sensors through a topic wildcard also has one point per sensor, tagged with
the sensor's building and room: each sensor is up or down by itself. Gateways whose agent
predates ``alive`` are read by ``up`` (the last poll answered).

A device whose gateway has not reported on it for :data:`STALE_S` is ``unknown``: the
gateway is silent (the city page says so), and the device's last state is not news.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Literal

from .queries import label
from .sources import PromQL, Sample

State = Literal["up", "down", "unknown"]
#: How far back the agent's reports on a device are looked for.
LOOKBACK = "1h"
#: A report older than this says nothing about now (the fleet view's ``--stale``).
STALE_S = 300.0
#: The device's own identity among the labels of its liveness series.
PLACE_LABELS = ("kind", "building", "room", "asset_id")
#: The liveness fields, the one preferred first: ``alive`` where the agent writes it, else ``up``.
FIELDS = ("alive", "up")


@dataclass
class Liveness:
    """One device's (or one sensor's) liveness as the store last heard it."""

    device: str
    state: State = "unknown"
    #: Seconds since its last reading (or since its gateway began to work it), as last reported.
    silent_s: float | None = None
    #: When the gateway last reported on it (unix seconds).
    reported_at: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    #: The sensors behind its topic wildcard, by (building, room).
    sensors: dict[tuple[str, str], Liveness] = field(default_factory=dict)

    def at(self, building: str, room: str) -> Liveness:
        """The liveness of what it has in that place: its sensor there, else itself."""
        return self.sensors.get((building, room), self)


def _selector(metric: str, school: str, device: str | None) -> str:
    device_matcher = f",device={label(device)}" if device else ""
    return f"{metric}{{school={label(school)}{device_matcher}}}"


def _reports_selector(school: str, device: str | None) -> str:
    """Every liveness field of the school's (or the device's) reports, metric names kept."""
    device_matcher = f",device={label(device)}" if device else ""
    names = "|".join((*FIELDS, "silent_s"))
    return f'{{__name__=~"edge_agent_device_({names})",school={label(school)}{device_matcher}}}'


def queries(school: str, device: str | None = None) -> list[str]:
    """The queries :func:`liveness` asks (a failed panel shows the one that failed)."""
    reports = _reports_selector(school, device)
    return [
        f"last_over_time({reports}[{LOOKBACK}]) keep_metric_names",
        f"tlast_over_time({reports}[{LOOKBACK}]) keep_metric_names",
    ]


def history(school: str, device: str) -> str:
    """One device's liveness over time (1 answering, 0 not), and its sensors', for a range
    query. The agent writes these points every interval, whatever the device reports."""
    alive, up = (_selector(f"edge_agent_device_{name}", school, device) for name in FIELDS)
    return f"{alive} or {up}"


def known(school: str, device: str, lookback: str) -> str:
    """Non-empty when the gateway reported on the device within ``lookback``."""
    return f"count(last_over_time({_selector('edge_agent_device_up', school, device)}[{lookback}]))"


@dataclass
class _Report:
    """The last report on one device or one sensor (one label set): its fields, and when."""

    place: dict[str, str]
    fields: dict[str, float] = field(default_factory=dict)
    reported_at: float = 0.0

    @property
    def own(self) -> bool:
        """A device's own point carries ``up``; a sensor's behind a wildcard does not."""
        return "up" in self.fields

    def judge(self, now: float) -> Liveness:
        """The liveness it tells: unknown when it is stale or says neither alive nor up."""
        found = Liveness(
            self.place.get("device", ""),
            silent_s=self.fields.get("silent_s"),
            reported_at=self.reported_at or None,
            labels={key: self.place[key] for key in PLACE_LABELS if self.place.get(key)},
        )
        answering = next((self.fields[name] for name in FIELDS if name in self.fields), None)
        if answering is not None and now - self.reported_at <= STALE_S:
            found.state = "up" if answering >= 1 else "down"
        return found


def _reports(values: list[Sample], times: list[Sample]) -> list[_Report]:
    """The samples of :func:`queries` by label set (the metric name apart), oldest first."""
    reports: dict[frozenset[tuple[str, str]], _Report] = {}
    for samples, timed in ((values, False), (times, True)):
        for sample in samples:
            name = sample.labels.get("__name__", "").removeprefix("edge_agent_device_")
            place = {key: value for key, value in sample.labels.items() if key != "__name__"}
            report = reports.setdefault(frozenset(place.items()), _Report(place))
            if not timed:
                report.fields[name] = sample.value
            elif name in FIELDS:
                report.reported_at = max(report.reported_at, sample.value)
    return sorted(reports.values(), key=lambda report: report.reported_at)


async def liveness(store: PromQL, school: str, device: str | None = None) -> dict[str, Liveness]:
    """Every device of ``school`` (or just ``device``) the gateway reported on, by name, with
    the sensors behind its topic wildcard."""
    values_q, times_q = queries(school, device)
    values, times = await asyncio.gather(store.instant(values_q), store.instant(times_q))
    reports, now = _reports(values, times), time.time()
    devices: dict[str, Liveness] = {}
    # A device whose building or room changed has several series: the newest one speaks.
    for report in reports:
        if report.own:
            devices[report.place.get("device", "")] = report.judge(now)
    for report in reports:
        owner = devices.get(report.place.get("device", ""))
        if owner is not None and not report.own:
            owner.sensors[(report.place.get("building", ""), report.place.get("room", ""))] = report.judge(
                now
            )
    return devices
