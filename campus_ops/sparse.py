"""PromQL on sparse series: what the dashboards and the console ask for "now".

A device that reports on change (docs/central.md#sparse-series) sends a field when it moved
past its deadband, and otherwise at its heartbeat (5 minutes by default): between two
readings the value stands. A bare selector finds a value only near a reading (the store's
lookback), so a steady classroom drops out of a current-value panel, and a chart of it is a
row of dots. These are the recipes, in one place, for the store the city runs
(VictoriaMetrics: ``keep_metric_names`` and ``tlast_over_time`` are its own); the
time-weighted mean and the rules' own forms are in docs/central.md.
"""

from __future__ import annotations

#: How long a reading stands: the heartbeat (5 minutes, the longest ``edge-agent check``
#: accepts without a warning) plus a poll interval no longer than it. The central rules use
#: the same window.
STANDS = "10m"


def now(selector: str, *, names: bool = False) -> str:
    """The value standing now (or at each step of a range query): the last reading within
    :data:`STANDS`. ``names`` keeps metric names, for a selector of several metrics."""
    keep = " keep_metric_names" if names else ""
    return f"last_over_time({selector}[{STANDS}]){keep}"


def newest(selector: str, by: str) -> str:
    """:func:`now`, of each device's (``by``) newest series only.

    A state tag (``machine_state``, ``oper_state``, ``power_source``, ``mode``) that changes
    starts a new series, and the old one's last reading would stand for :data:`STANDS` too:
    a sum would count a machine in alarm, or an air-handling unit's fan, twice.
    """
    when = f"tlast_over_time({selector}[{STANDS}])"
    return f"({now(selector)} and ({when} == on ({by}) group_left () max by ({by}) ({when})))"
