"""The city page's data: every school worst first, the alerts firing now, three headline charts."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from campus_ops import fleet

from . import i18n, queries
from .alertsview import alerts
from .context import Context
from .panels import Panel, panel, range_chart

#: The headline charts: key of the title, query, unit.
CHARTS = (
    ("chart.schools_reporting", queries.schools_reporting, ""),
    ("chart.points_per_s", queries.points_per_second, "/s"),
    ("chart.co2_high", queries.classrooms_above_co2, ""),
)
HOURS = 24.0


def gateway_row(ctx: Context, gateway: fleet.Gateway, lang: str) -> dict[str, Any]:
    """One gateway as ``campus-ops fleet --json`` gives it, with the school's name and page."""
    row = asdict(gateway)
    row["name"] = ctx.school_name(gateway.school)
    row["problems"] = [i18n.problem(lang, text) for text in gateway.problems]
    row["url"] = f"/school/{gateway.school}"
    return row


async def _schools(ctx: Context, lang: str) -> Panel:
    return {"rows": [gateway_row(ctx, gateway, lang) for gateway in await ctx.gateways()]}


async def _firing(ctx: Context) -> Panel:
    return await alerts(ctx, lambda alert: alert["state"] == "firing")


async def city(ctx: Context, lang: str) -> dict[str, Any]:
    """Every panel of the city page; each one fails alone."""
    schools, firing, *charts = await asyncio.gather(
        panel(_schools(ctx, lang)),
        panel(_firing(ctx)),
        *(
            panel(range_chart(ctx.store, make(), HOURS, unit=i18n.unit(lang, unit)))
            for _, make, unit in CHARTS
        ),
    )
    return {
        "schools": schools,
        "alerts": firing,
        "charts": [{"title": key, **chart} for (key, _, _), chart in zip(CHARTS, charts, strict=True)],
    }
