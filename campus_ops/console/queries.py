"""The PromQL the console asks, in one place, by what it is for.

Where a Grafana dashboard already shows the same thing, the console asks the dashboard's own
query (:mod:`campus_ops.dashboards`), with the school filled in, so the two never disagree.
Device liveness has a module of its own (:mod:`.liveness`).

Devices may report on change (:mod:`campus_ops.sparse`): a reading stands until the next,
which may be a heartbeat 5 minutes later, so "now" and every point of a chart are the last
reading within a window at least that wide, never a bare selector.
"""

from __future__ import annotations

from campus_core.units import parse_duration
from campus_ops import dashboards, sparse

#: How far back a device's last values are looked for; older ones count as none. Far wider
#: than a heartbeat: the school page shows a steady device's values and how old they are.
VALUES_LOOKBACK = "1h"
#: Series that are not a device's readings although they carry ``device``: the agent's own
#: points about the device, the asset register's identity, alert state, and recording rules
#: (whose names hold a colon).
NOT_READINGS = "edge_agent_.*|asset_.*|ALERTS|ALERTS_FOR_STATE|.*:.*"
#: A school's charts: the key of the title (for the strings), the dashboard panel it borrows,
#: and its unit.
SCHOOL_CHARTS: dict[str, tuple[str, str, str]] = {
    "chart.co2": ("campus-classroom-environment", "CO2", "ppm"),
    "chart.temperature": ("campus-classroom-environment", "Temperature", "°C"),
    "chart.power": ("campus-energy", "Power per building", "W"),
    "chart.network": ("campus-network", "Busiest ports (received)", "bit/s"),
}


def label(value: str) -> str:
    """``value`` as a PromQL string literal: quotes and backslashes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def dashboard_query(uid: str, title: str, school: str | None = None) -> str:
    """The query of dashboard ``uid``'s panel ``title``, for one school or (None) all of them."""
    return dashboard_panel(uid, title, school)[0]


def dashboard_panel(uid: str, title: str, school: str | None = None) -> tuple[str, str]:
    """The query and the legend (``{{building}}-{{room}}``) of dashboard ``uid``'s panel ``title``."""
    for board_uid, query in dashboards.queries():
        if board_uid == uid and query.title == title:
            school_matcher = f"school={label(school)}" if school else 'school=~".+"'
            # "All" in the dashboards' building and room variables.
            expr = (
                query.expr.replace('school=~"$school"', school_matcher)
                .replace('"$building"', '".+"')
                .replace('"$room"', '".+"')
            )
            return expr, query.legend
    raise KeyError(f"dashboard {uid} has no panel {title!r}")


# The city page's headline charts.


def schools_reporting() -> str:
    """How many schools' gateways wrote in the last 5 minutes (the city overview's stat)."""
    return dashboard_query("campus-city-overview", "Schools reporting")


def points_per_second() -> str:
    """Points per second into the store: what the gateways' sinks had acknowledged, summed.

    The gateways count what their stores acknowledged (``points_sent``, since the agent's
    start; ``rate`` takes a restart in its stride), so the figure is the city's whole intake
    as the schools see it, without the store's own metrics.
    """
    return "sum(rate(edge_agent_points_sent[5m]))"


def classrooms_above_co2() -> str:
    """How many classrooms' CO2 is above the GB/T 18883-2022 limit (1000 ppm) now.

    0 while classrooms report and none is above it; nothing while none reports.
    """
    now = sparse.now("classroom_env_co2_ppm")
    return f"count({now} > 1000) or count({now}) * 0"


def school_chart(key: str, school: str) -> tuple[str, str]:
    """The query and legend behind one of :data:`SCHOOL_CHARTS` for ``school``."""
    uid, title, _ = SCHOOL_CHARTS[key]
    return dashboard_panel(uid, title, school)


# A device's readings.


def _readings(school: str, device: str | None) -> str:
    device_matcher = f"device={label(device)}" if device else 'device!=""'
    return f'{{school={label(school)},{device_matcher},__name__!~"{NOT_READINGS}"}}'


def last_values(school: str, device: str | None = None) -> str:
    """Every reading's last value within :data:`VALUES_LOOKBACK`, metric names kept."""
    return f"last_over_time({_readings(school, device)}[{VALUES_LOOKBACK}]) keep_metric_names"


def last_value_times(school: str, device: str | None = None) -> str:
    """When each of :func:`last_values` was taken (unix seconds)."""
    return f"tlast_over_time({_readings(school, device)}[{VALUES_LOOKBACK}]) keep_metric_names"


def device_history(school: str, device: str, step: float) -> str:
    """Every reading of one device, for a range query at ``step`` seconds: at each step the
    last reading within the step (at least :data:`campus_ops.sparse.STANDS`), so a steady
    device that reports on change draws a line, not a dot at each heartbeat."""
    window = max(step, parse_duration(sparse.STANDS))
    return f"last_over_time({_readings(school, device)}[{window:g}s]) keep_metric_names"


def asset_identity(school: str, device: str) -> str:
    """The asset register's identity of a device: its ``asset_info`` tags, with when they were
    last read (the newest series is the device's current identity, docs/schema.md)."""
    return f"last_over_time(asset_last_seen_s{{school={label(school)},device={label(device)}}}[30d])"
