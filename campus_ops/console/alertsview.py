"""Alerts as the pages show them, from vmalert: summaries as the rules wrote them, runbooks linked.

The rules' ``runbook`` annotation names a section of docs/central.md (``docs/central.md#devicedown``);
the console serves that section itself at ``/runbook/<anchor>``, so the link works on a closed
network. A runbook given as a full ``http(s)://`` address is linked as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .context import Context
from .panels import Panel
from .sources import absent_vmalert

#: Worst first.
SEVERITY = {"critical": 0, "warning": 1, "info": 2}
STATES = {"firing": 0, "pending": 1}
_ANCHOR = re.compile(r"#([a-z0-9-]+)$")

Alert = dict[str, Any]


def runbook_link(annotation: str | None) -> str | None:
    """Where a rule's runbook annotation points, for a page of this console."""
    if not annotation:
        return None
    if annotation.startswith(("http://", "https://")):
        return annotation
    match = _ANCHOR.search(annotation)
    return f"/runbook/{match.group(1)}" if match else None


def shape(alert: dict[str, Any]) -> Alert:
    """One of vmalert's alerts as the pages read it."""
    labels: dict[str, str] = dict(alert.get("labels") or {})
    annotations: dict[str, str] = dict(alert.get("annotations") or {})
    return {
        "name": alert.get("name") or labels.get("alertname", ""),
        "state": alert.get("state", ""),
        "severity": labels.get("severity", ""),
        "school": labels.get("school"),
        "device": labels.get("device"),
        "summary": annotations.get("summary", ""),
        "runbook": runbook_link(annotations.get("runbook")),
        "expression": alert.get("expression", ""),
        "active_at": alert.get("activeAt"),
        "value": alert.get("value"),
        "labels": labels,
    }


def _order(alert: Alert) -> tuple[int, int, str, str]:
    return (
        STATES.get(alert["state"], 9),
        SEVERITY.get(alert["severity"], 9),
        alert["name"],
        alert["summary"],
    )


async def alerts(ctx: Context, keep: Callable[[Alert], bool] = lambda alert: True) -> Panel:
    """The alerts vmalert holds that ``keep`` keeps, firing before pending, worst first."""
    vmalert = ctx.vmalert
    if vmalert is None:
        raise absent_vmalert()
    shaped = [shape(alert) for alert in await vmalert.alerts()]
    return {"rows": sorted((a for a in shaped if keep(a)), key=_order)}


async def by_school(ctx: Context) -> Panel:
    """Every alert, grouped by school (the alerts with no school last), with its expression."""
    rows = (await alerts(ctx))["rows"]
    groups: dict[str, list[Alert]] = {}
    for alert in rows:
        groups.setdefault(alert["school"] or "", []).append(alert)
    ordered = sorted(groups.items(), key=lambda item: (item[0] == "", item[0]))
    return {"groups": [{"school": school or None, "rows": items} for school, items in ordered]}
