"""A school's page data: its gateway, its devices by building and room, its alerts, its charts."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

from . import i18n, queries
from .alertsview import alerts
from .city import gateway_row
from .context import Context
from .liveness import Liveness, liveness
from .panels import Panel, legend, panel, range_chart
from .readings import Place, age, places
from .sources import SourceError

HOURS = 6.0


async def exists(ctx: Context, code: str) -> bool | None:
    """Whether the school is in the roster or has a gateway in the store; None when the store
    cannot say (the page is served, and its panels say why they are empty)."""
    if ctx.in_roster(code):
        return True
    try:
        gateways = await ctx.gateways()
    except SourceError:
        return None
    return any(gateway.school == code for gateway in gateways)


def device_url(code: str, device: str) -> str:
    """The device's page."""
    return f"/school/{quote(code)}/device/{quote(device, safe='')}"


async def _gateway(ctx: Context, code: str, lang: str) -> Panel:
    rows = [gateway_row(ctx, g, lang) for g in await ctx.gateways() if g.school == code]
    return {"rows": rows}


def _entry(code: str, place: Place | None, alive: Liveness, lang: str, now: float) -> dict[str, Any]:
    return {
        "device": alive.device,
        "kind": (place.kind if place else "") or alive.labels.get("kind", ""),
        "state": alive.state,
        "silent_s": alive.silent_s,
        "age_s": age(place, now) if place else None,
        "values": place.values(lang) if place else [],
        "url": device_url(code, alive.device),
    }


async def _devices(ctx: Context, code: str, lang: str) -> Panel:
    alive, values, times = await asyncio.gather(
        liveness(ctx.store, code),
        ctx.store.instant(queries.last_values(code)),
        ctx.store.instant(queries.last_value_times(code)),
    )
    found = places(values, times)
    now = time.time()
    rooms: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for name in sorted(set(alive) | {device for device, _, _ in found}):
        device_alive = alive.get(name) or Liveness(name)
        where: dict[tuple[str, str], Place | None] = {
            (b, r): p for (d, b, r), p in found.items() if d == name
        }
        # A sensor behind its wildcard that sent nothing for an hour still has its room.
        where.update({place: None for place in device_alive.sensors if place not in where})
        if not where:
            # No readings: the device stands where its gateway's report puts it.
            where = {(device_alive.labels.get("building", ""), device_alive.labels.get("room", "")): None}
        for (building, room), place in where.items():
            here = device_alive.at(building, room)
            rooms.setdefault((building, room), []).append(_entry(code, place, here, lang, now))
    buildings: dict[str, list[dict[str, Any]]] = {}
    for (building, room), devices in sorted(rooms.items(), key=lambda item: (item[0][0] == "", item[0])):
        buildings.setdefault(building, []).append({"room": room, "devices": devices})
    return {"buildings": [{"building": b, "rooms": r} for b, r in buildings.items()]}


async def _chart(ctx: Context, key: str, code: str, lang: str) -> Panel:
    query, template = queries.school_chart(key, code)
    unit = queries.SCHOOL_CHARTS[key][2]
    return await range_chart(
        ctx.store,
        query,
        HOURS,
        unit=i18n.unit(lang, unit),
        name=lambda labels: legend(template, labels, labels.get("device", "")),
    )


async def school(ctx: Context, code: str, lang: str) -> dict[str, Any]:
    """Every panel of the school page; each one fails alone."""
    gateway, devices, school_alerts, *charts = await asyncio.gather(
        panel(_gateway(ctx, code, lang)),
        panel(_devices(ctx, code, lang)),
        panel(alerts(ctx, lambda alert: alert["school"] == code)),
        *(panel(_chart(ctx, key, code, lang)) for key in queries.SCHOOL_CHARTS),
    )
    return {
        "school": code,
        "name": ctx.school_name(code),
        "gateway": gateway,
        "devices": devices,
        "alerts": school_alerts,
        "charts": [{"title": key, **chart} for key, chart in zip(queries.SCHOOL_CHARTS, charts, strict=True)],
    }
