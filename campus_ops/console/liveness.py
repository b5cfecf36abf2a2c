"""Whether each device is alive, as the store tells it: the one place the console decides.

Today liveness reaches the store as the agent's ``edge_agent_device`` points (docs/schema.md):
``up`` (the last poll answered) and ``silent_s`` (time since the last reading), one point per
device every agent interval. Issue #31 separates liveness from data and will change how it
reaches the store; when it does, this module changes and the pages do not.

A device whose gateway has not reported on it for :data:`STALE_S` is ``unknown``: the
gateway is silent (the city page says so), and the device's last state is not news.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Literal

from .queries import label
from .sources import PromQL

State = Literal["up", "down", "unknown"]
#: How far back the agent's reports on a device are looked for.
LOOKBACK = "1h"
#: A report older than this says nothing about now (the fleet view's ``--stale``).
STALE_S = 300.0
#: The device's own identity among the labels of its liveness series.
PLACE_LABELS = ("kind", "building", "room", "asset_id")


@dataclass
class Liveness:
    """One device's liveness as the store last heard it."""

    device: str
    state: State = "unknown"
    #: Seconds since its last reading (or since its gateway began to work it), as last reported.
    silent_s: float | None = None
    #: When the gateway last reported on it (unix seconds).
    reported_at: float | None = None
    labels: dict[str, str] = field(default_factory=dict)


def _selector(metric: str, school: str, device: str | None) -> str:
    device_matcher = f",device={label(device)}" if device else ""
    return f"{metric}{{school={label(school)}{device_matcher}}}"


def queries(school: str, device: str | None = None) -> list[str]:
    """The queries :func:`liveness` asks (a failed panel shows the one that failed)."""
    up = _selector("edge_agent_device_up", school, device)
    silent = _selector("edge_agent_device_silent_s", school, device)
    return [
        f"last_over_time({up}[{LOOKBACK}])",
        f"tlast_over_time({up}[{LOOKBACK}])",
        f"last_over_time({silent}[{LOOKBACK}])",
    ]


def history(school: str, device: str) -> str:
    """One device's liveness over time (1 answering, 0 not), for a range query."""
    return _selector("edge_agent_device_up", school, device)


def known(school: str, device: str, lookback: str) -> str:
    """Non-empty when the gateway reported on the device within ``lookback``."""
    return f"count(last_over_time({_selector('edge_agent_device_up', school, device)}[{lookback}]))"


async def liveness(store: PromQL, school: str, device: str | None = None) -> dict[str, Liveness]:
    """Every device of ``school`` (or just ``device``) the gateway reported on, by name."""
    up_q, when_q, silent_q = queries(school, device)
    ups, whens, silents = await asyncio.gather(
        store.instant(up_q), store.instant(when_q), store.instant(silent_q)
    )
    devices: dict[str, Liveness] = {}
    # A device whose building or room changed has several series: the newest one speaks.
    for sample in sorted(whens, key=lambda s: s.value):
        name = sample.labels.get("device", "")
        found = devices.setdefault(name, Liveness(name))
        found.reported_at = sample.value
        found.labels = {key: sample.labels[key] for key in PLACE_LABELS if sample.labels.get(key)}
    newest = {name: found.labels for name, found in devices.items()}
    now = time.time()
    for sample in ups:
        reported = devices.get(sample.labels.get("device", ""))
        if reported is None or _place(sample.labels) != newest[reported.device]:
            continue
        stale = reported.reported_at is None or now - reported.reported_at > STALE_S
        reported.state = "unknown" if stale else ("up" if sample.value >= 1 else "down")
    for sample in silents:
        reported = devices.get(sample.labels.get("device", ""))
        if reported is not None and _place(sample.labels) == newest[reported.device]:
            reported.silent_s = sample.value
    return devices


def _place(labels: dict[str, str]) -> dict[str, str]:
    return {key: labels[key] for key in PLACE_LABELS if labels.get(key)}
