"""The books of a fault case: what the agent accepted against what the store holds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from edge_agent.buffer import DiskBuffer

from .victoriametrics import VictoriaMetrics


@dataclass
class Books:
    """Readings (points) accepted by the agent and where each one ended up."""

    accepted: int
    delivered: int  # distinct points in the store
    dead_lettered: int
    dropped: int
    still_buffered: int
    duplicates: int  # samples stored more than once for one series and timestamp
    acked: int  # what the agent recorded as delivered
    readings: int = 0  # of the delivered, the devices' readings (not the agent's own points)

    def line(self, case: str) -> str:
        """One line for the report."""
        return (
            f"{case:<38} accepted {self.accepted:>7}  delivered {self.delivered:>7}  "
            f"dead-lettered {self.dead_lettered:>5}  dropped {self.dropped:>6}  "
            f"duplicates {self.duplicates}"
        )

    def balanced(self) -> bool:
        """accepted = delivered + dead-lettered + dropped, nothing left behind, nothing twice."""
        return (
            self.accepted == self.delivered + self.dead_lettered + self.dropped
            and self.still_buffered == 0
            and self.duplicates == 0
        )


def books(buffer_file: Path, store: VictoriaMetrics, school: str, sink: str) -> Books:
    """Read the agent's counters from its buffer and count points in the store."""
    disk = DiskBuffer(buffer_file, [], 10**12, readonly=True)
    try:
        stats = disk.stats()
    finally:
        disk.close()
    counters = stats.counters
    # A point is its measurement, tag set and timestamp; its fields are separate series in the
    # store, named <measurement>_<field>. The agent's edge_agent_device point about a device
    # carries that device's tags and may share a reading's millisecond: tell it apart by name
    # (as the asset register's asset point about it).
    points: set[tuple[bool, frozenset[tuple[str, str]], int]] = set()
    duplicates = 0
    for series in store.export(f'{{school="{school}"}}'):
        health = series["metric"]["__name__"].startswith(("edge_agent_device_", "asset_"))
        tags = frozenset((k, v) for k, v in series["metric"].items() if k != "__name__")
        stamps = series["timestamps"]
        duplicates += sum(n - 1 for n in Counter(stamps).values() if n > 1)
        points.update((health, tags, ts) for ts in stamps)
    pending = next((b.points for b in stats.backlog if b.sink == sink), 0)
    return Books(
        accepted=counters.get("accepted", 0),
        delivered=len(points),
        dead_lettered=counters.get(f"dead:{sink}", 0),
        dropped=counters.get(f"dropped:{sink}", 0),
        still_buffered=pending,
        duplicates=duplicates,
        acked=counters.get(f"delivered:{sink}", 0),
        readings=sum(1 for health, tags, _ in points if not health and any(k == "device" for k, _ in tags)),
    )
