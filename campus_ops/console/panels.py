"""What every page's data is made of: panels that succeed or fail alone, and chart series.

A panel is a JSON object with ``ok``; a failed one carries the :class:`SourceError` as
``error`` (source, kind, message, query), which the page turns into words in its language.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .sources import PromQL, Series, SourceError

Panel = dict[str, Any]
#: The schema's measurements (docs/schema.md), longest first: a metric is <measurement>_<field>.
MEASUREMENTS = sorted(
    (
        "classroom_env",
        "energy_meter",
        "training_machine",
        "network_interface",
        "network_device",
        "ups",
        "host",
        "host_cpu",
        "host_storage",
        "edge_agent_device",
        "asset",
    ),
    key=len,
    reverse=True,
)
#: Points a chart's series gets at most; the step of a range query follows from it.
CHART_POINTS = 240


async def panel(build: Awaitable[Panel]) -> Panel:
    """The panel ``build`` makes, or the reason it could not be made."""
    try:
        body = await build
    except SourceError as exc:
        return {"ok": False, "error": exc.as_json()}
    return {"ok": True, **body}


def split_metric(name: str) -> tuple[str, str]:
    """``classroom_env_co2_ppm`` -> ("classroom_env", "co2_ppm"); unknown: ("", name)."""
    for measurement in MEASUREMENTS:
        if name.startswith(measurement + "_"):
            return measurement, name[len(measurement) + 1 :]
    return "", name


def step_for(seconds: float) -> float:
    """The step of a range query over ``seconds``: about :data:`CHART_POINTS` points, whole seconds."""
    return float(max(15, round(seconds / CHART_POINTS)))


def legend(template: str, labels: dict[str, str], fallback: str) -> str:
    """A series' name from a Grafana-style legend (``{{building}}-{{room}}``)."""
    if not template or template == "__auto":
        return fallback
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip() or fallback


def chart_series(series: list[Series], name: Callable[[dict[str, str]], str]) -> list[dict[str, Any]]:
    """Series as the page's charts take them: ``{"name", "points": [[ms, value], ...]}``."""
    out = [
        {"name": name(item.labels), "points": [[int(t * 1000), value] for t, value in item.points]}
        for item in series
    ]
    return sorted(out, key=lambda s: str(s["name"]))


async def range_chart(
    store: PromQL,
    query: str,
    hours: float,
    *,
    unit: str = "",
    name: Callable[[dict[str, str]], str] = lambda labels: "",
) -> Panel:
    """One chart of ``query`` over the last ``hours``."""
    end = time.time()
    start = end - hours * 3600
    series = await store.range(query, start, end, step_for(end - start))
    return {
        "query": query,
        "unit": unit,
        "start": int(start * 1000),
        "end": int(end * 1000),
        "series": chart_series(series, name),
    }
