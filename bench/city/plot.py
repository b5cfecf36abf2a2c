"""The city's run as a picture: backlog and store ingest over time, the outage shaded."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a build machine

import matplotlib.pyplot as plt

from .watch import Snapshot


def plot(snapshots: list[Snapshot], out: Path, title: str) -> Path:
    """Write a PNG of the run to ``out``: points waiting in every buffer, rows/s into the store."""
    t = [s.t for s in snapshots]
    backlog = [s.backlog for s in snapshots]
    rates = [0.0] + [
        max(0.0, (b.store.rows - a.store.rows) / max(1e-3, b.t - a.t))
        for a, b in itertools.pairwise(snapshots)
    ]
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 6), constrained_layout=True)
    top.plot(t, backlog, color="tab:red")
    top.set_ylabel("points waiting\n(all gateways)")
    # The store publishes its row counter in steps: each second's rate jumps between 0 and a
    # peak, so the mean over the last 5 s is drawn over it.
    bottom.plot(t, rates, color="tab:blue", alpha=0.3, linewidth=0.8, label="each second")
    window = 5
    means = [
        sum(rates[max(0, i - window + 1) : i + 1]) / len(rates[max(0, i - window + 1) : i + 1])
        for i in range(len(rates))
    ]
    bottom.plot(t, means, color="tab:blue", label="mean over 5 s")
    bottom.set_ylabel("store ingest\n(rows/s)")
    bottom.set_xlabel("seconds since the bench started")
    outage = [s.t for s in snapshots if s.phase == "outage"]
    recovery = [s.t for s in snapshots if s.phase == "recovery"]
    for axis in (top, bottom):
        axis.grid(True, alpha=0.3)
        if outage:
            axis.axvspan(min(outage), max(outage), color="grey", alpha=0.2, label="outage")
        if recovery:
            axis.axvspan(min(recovery), max(recovery), color="tab:green", alpha=0.1, label="catching up")
    top.legend(loc="upper left")
    bottom.legend(loc="upper left")
    figure.suptitle(title)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return out
