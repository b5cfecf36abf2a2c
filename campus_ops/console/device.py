"""A device's page data: its fields over a chosen range, its liveness, its alerts, its identity."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from . import i18n, liveness, queries
from .alertsview import alerts
from .context import Context
from .panels import Panel, chart_series, panel, split_metric, step_for
from .sources import Series, SourceError

#: The ranges a person can pick, in seconds; the page's URL carries the choice (``?range=6h``).
RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 24 * 3600, "7d": 7 * 24 * 3600}
DEFAULT_RANGE = "6h"
#: Series one chart draws at most (a 48-port switch has 48 of each field): the largest stay.
MAX_SERIES = 12
IDENTITY = ("vendor", "model", "firmware", "serial")


async def exists(ctx: Context, code: str, device: str) -> bool | None:
    """Whether the gateway reported on the device within the lookback; None when the store cannot say."""
    try:
        return bool(await ctx.store.instant(liveness.known(code, device, ctx.settings.lookback)))
    except SourceError:
        return None


def _namer(varying: list[str]) -> Callable[[dict[str, str]], str]:
    """Names a series by the labels that tell it from the others of its field."""
    return lambda labels: " ".join(labels.get(key, "") for key in varying).strip()


def _field_charts(series: list[Series], lang: str) -> list[dict[str, Any]]:
    by_metric: dict[str, list[Series]] = {}
    for item in series:
        by_metric.setdefault(item.labels.get("__name__", ""), []).append(item)
    charts = []
    for metric, items in sorted(by_metric.items()):
        name = split_metric(metric)[1]
        label, unit = i18n.field(lang, name)
        keys = sorted({key for item in items for key in item.labels} - {"__name__"})
        # Name each series by what tells it from the others (a port's name, a room).
        varying = [key for key in keys if len({item.labels.get(key) for item in items}) > 1]
        preferred: list[str] = [key for key in ("if_name", "room", "building") if key in varying]
        named_by = preferred or varying
        shown = sorted(items, key=lambda s: max((v for _, v in s.points), default=0.0), reverse=True)
        charts.append(
            {
                "field": name,
                "metric": metric,
                "label": label,
                "unit": unit,
                "total": len(items),
                "series": chart_series(shown[:MAX_SERIES], _namer(named_by)),
            }
        )
    return charts


async def _readings(ctx: Context, code: str, device: str, seconds: int, lang: str) -> Panel:
    end = time.time()
    start = end - seconds
    step = step_for(seconds)
    query = queries.device_history(code, device, step)
    alive_query = liveness.history(code, device)
    series, alive = await asyncio.gather(
        ctx.store.range(query, start, end, step), ctx.store.range(alive_query, start, end, step)
    )
    label, unit = i18n.field(lang, "up")
    answering = {
        "field": "up",
        "metric": alive_query,
        "label": label,
        "unit": unit,
        "total": len(alive),
        # The device itself, and each sensor behind its wildcard by its building and room.
        "series": chart_series(alive, _namer(["building", "room"] if len(alive) > 1 else [])),
    }
    return {
        "query": query,
        "start": int(start * 1000),
        "end": int(end * 1000),
        "charts": [answering, *_field_charts(series, lang)],
    }


async def _state(ctx: Context, code: str, device: str) -> Panel:
    found = (await liveness.liveness(ctx.store, code, device)).get(device)
    if found is None:
        return {"state": "unknown", "silent_s": None, "labels": {}, "sensors": []}
    sensors = [
        {"building": building, "room": room, "state": sensor.state, "silent_s": sensor.silent_s}
        for (building, room), sensor in sorted(found.sensors.items())
    ]
    return {"state": found.state, "silent_s": found.silent_s, "labels": found.labels, "sensors": sensors}


async def _identity(ctx: Context, code: str, device: str) -> Panel:
    found = await ctx.store.instant(queries.asset_identity(code, device))
    if not found:
        return {"known": False}
    newest = max(found, key=lambda sample: sample.value)
    read = {"last_seen_s": newest.value, "register": f"/assets?{urlencode({'q': device, 'school': code})}"}
    return {"known": True, **{key: newest.labels.get(key) for key in IDENTITY}, **read}


async def device_page(ctx: Context, code: str, device: str, range_key: str, lang: str) -> dict[str, Any]:
    """Every panel of the device page; each one fails alone."""
    seconds = RANGES.get(range_key, RANGES[DEFAULT_RANGE])
    state, readings, device_alerts, identity = await asyncio.gather(
        panel(_state(ctx, code, device)),
        panel(_readings(ctx, code, device, seconds, lang)),
        panel(alerts(ctx, lambda a: a["school"] == code and a["device"] == device)),
        panel(_identity(ctx, code, device)),
    )
    return {
        "school": code,
        "device": device,
        "range": range_key if range_key in RANGES else DEFAULT_RANGE,
        "ranges": list(RANGES),
        "state": state,
        "readings": readings,
        "alerts": device_alerts,
        "identity": identity,
    }
