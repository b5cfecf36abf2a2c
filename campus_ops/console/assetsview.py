"""The asset register's page: every school's devices as ``campus-ops assets`` lists them.

The rows are :func:`campus_ops.assets.register`'s own, so the page and the command never
disagree; the recent changes are :func:`campus_ops.assets.changes`'. A search keeps the
rows where every word of it is found in some column (case does not matter): the page
filters as one types, and the CSV download (``/assets.csv?q=...``) applies the same search,
so what is downloaded is what is shown.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

from campus_ops import assets

from .context import Context
from .panels import Panel, panel

#: A device is in the register when its gateway reported it this recently (the agents
#: repeat every identity daily).
WITHIN = "3d"
#: How far back the page lists changes.
CHANGES_SINCE_S = 7 * 86400.0


def matches(asset: assets.Asset, query: str) -> bool:
    """Whether every word of ``query`` is in one of the asset's values (case-insensitive)."""
    words = query.casefold().split()
    if not words:
        return True
    values = [str(v) for k, v in asdict(asset).items() if v and k != "details"]
    haystack = " ".join([*values, *asset.details.values()]).casefold()
    return all(word in haystack for word in words)


async def rows(ctx: Context, school: str | None, query: str = "") -> list[assets.Asset]:
    """The register (one school's, or the city's), searched."""
    found = await ctx.blocking(lambda store: assets.register(store, school, WITHIN))
    return [asset for asset in found if matches(asset, query)]


async def _register(ctx: Context, school: str | None) -> Panel:
    found = await rows(ctx, school)
    return {"rows": [{**asdict(asset), "url": _device_url(asset)} for asset in found]}


async def _changes(ctx: Context, school: str | None) -> Panel:
    now = time.time()
    found = await ctx.blocking(lambda store: assets.changes(store, school, CHANGES_SINCE_S, now))
    return {"rows": [asdict(change) for change in reversed(found)]}


def _device_url(asset: assets.Asset) -> str | None:
    if asset.device.startswith("@"):
        return None  # the gateway itself has no device page
    return f"/school/{asset.school}/device/{asset.device}"


async def assets_page(ctx: Context, school: str | None) -> dict[str, Any]:
    """The register and its recent changes; each fails alone."""
    register, changes = await asyncio.gather(panel(_register(ctx, school)), panel(_changes(ctx, school)))
    return {"school": school, "register": register, "changes": changes}
