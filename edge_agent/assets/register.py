"""The gateway's asset register: what every device stated, written to the store, changes told.

Every identity read (:meth:`AssetRegister.record`) becomes one ``asset_info`` point: the
identity as tags, ``info`` = 1 and when the register first and last saw the asset
(docs/schema.md). A value that differs from the one last read is a change: one
``edge_agent_event`` point (``event=asset_changed``, tags ``what``, ``old``, ``new``) and
one line in the journal. A value stated for the first time, or not stated this time, is
no change: the first is news, the second more often a garbled answer than a new device.
When a device does not answer at a due probe, :meth:`AssetRegister.repeat` writes what was
known again, unchanged, so the register stays queryable and nothing changes in it.

The register remembers every asset on disk (:mod:`.state`), saved at once after a change,
every ten minutes otherwise and when the agent stops, so a restart is not a change.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from campus_core.clock import now_ms
from campus_core.identity import Identity, SeriesTags
from campus_core.readings import Reading

from ..normalise import PointEncoder
from . import state
from .state import Asset

log = structlog.get_logger("edge_agent.assets")

#: The measurement of the register's points: ``asset_info`` in PromQL.
MEASUREMENT = "asset"
FIELDS = ("info", "first_seen_s", "last_seen_s")
#: The measurement of its change events (the audit trail's).
EVENT_MEASUREMENT = "edge_agent_event"
#: A change is saved at once (a restart must not tell it again), saves at least this far
#: apart (seconds); anything else (a device first seen, a new last seen) at the latest
#: after :data:`SAVE_EVERY`, and when the agent stops. A start first sees every device of
#: the campus within seconds: one save for all of them, not one every few.
SAVE_GAP = 2.0
SAVE_EVERY = 600.0


@dataclass(frozen=True, slots=True)
class Change:
    """One identity value that changed on one asset."""

    device: str
    tags: SeriesTags
    what: str
    old: str
    new: str


class AssetRegister:
    """Keeps what every asset stated, writes it through the pipeline, and saves it to disk.

    ``accept`` is the pipeline's; ``encoders`` the shared encoders (the device's own encoder
    tags its points with school, campus, device, room, asset_id...). ``interval`` gives the
    probe interval in force (``[agent] identity_interval``), read at each use so a reload
    reaches it.
    """

    def __init__(
        self,
        state_dir: Path,
        encoders: dict[str, PointEncoder],
        accept: Callable[[list[Reading]], None],
        interval: Callable[[], float],
    ) -> None:
        self.path = state_dir / state.STATE_FILE
        self._encoders = encoders
        self._accept = accept
        self.interval = interval
        self._assets: dict[tuple[str, SeriesTags], Asset] = {}
        self._dirty = False
        self._wake = asyncio.Event()
        self.changes = 0

    async def load(self) -> None:
        """Read what the register knew before this start (off the event loop)."""
        for asset in await asyncio.to_thread(state.load, self.path):
            self._assets[asset.key] = asset

    def get(self, device: str, tags: SeriesTags = ()) -> Asset | None:
        """What the register knows of one asset."""
        return self._assets.get((device, tags))

    def assets(self) -> list[Asset]:
        """Every asset known, in the order first seen."""
        return list(self._assets.values())

    def record(
        self,
        device: str,
        protocol: str,
        address: str,
        identity: Identity,
        source: str,
        tags: SeriesTags = (),
        seen_ms: int | None = None,
    ) -> list[Change]:
        """An identity just read (``source``: ``device`` or ``config``): write it, tell changes."""
        now = now_ms()
        seen = now if seen_ms is None else seen_ms
        stated = (("protocol", protocol), ("address", address), ("source", source), *identity.pairs)
        asset = self._assets.get((device, tags))
        changes: list[Change] = []
        if asset is None:
            asset = Asset(device, tags, protocol, address, stated, None, seen, seen)
            self._assets[asset.key] = asset
            log.debug("asset first seen", device=device, sensor=dict(tags) or None, **identity.as_dict())
        else:
            for what, new in identity.pairs:
                old = asset.known(what)
                if old is not None and old != new:
                    changes.append(Change(device, tags, what, old, new))
            if stated != asset.stated:
                stated_now = dict(identity.pairs)
                lost = {k: v for k, v in asset.known_all().items() if k not in stated_now}
                asset.stated, asset.kept = stated, lost or None
            asset.protocol, asset.address = protocol, address
            asset.last_seen_ms = max(asset.last_seen_ms, seen)
        self._write(asset, now)
        if changes:
            self._tell(changes, now)
        self._dirty = True
        if changes:
            self._wake.set()  # saved now: a restart must not tell these again
        return changes

    def repeat(self, device: str, tags: SeriesTags = ()) -> bool:
        """Write what is known of an asset again, unchanged (its device did not answer a due probe)."""
        asset = self._assets.get((device, tags))
        if asset is None:
            return False
        self._write(asset, now_ms())
        return True

    def _write(self, asset: Asset, now: int) -> None:
        if asset.device not in self._encoders:
            return  # the device was removed while its probe ran: nothing to tag the point with
        values = (1.0, asset.first_seen_ms / 1000, asset.last_seen_ms / 1000)
        tags = (*asset.tags, *asset.stated)
        self._accept([Reading(asset.device, now, FIELDS, values, tags, MEASUREMENT)])

    def _tell(self, changes: list[Change], now: int) -> None:
        points = []
        for change in changes:
            self.changes += 1
            log.info(
                "asset changed",
                audit_event="asset_changed",
                device=change.device,
                sensor=dict(change.tags) or None,
                what=change.what,
                old=change.old,
                new=change.new,
            )
            tags = (*change.tags, ("event", "asset_changed"), ("what", change.what))
            tags += (("old", change.old), ("new", change.new))
            points.append(Reading(change.device, now, ("changes",), (1.0,), tags, EVENT_MEASUREMENT))
        if changes[0].device in self._encoders:
            self._accept(points)

    async def run(self) -> None:
        """Save the register when it changed, and every while, until cancelled; then a last time."""
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(SAVE_EVERY):
                        await self._wake.wait()
                self._wake.clear()
                await self.save()
                await asyncio.sleep(SAVE_GAP)
        finally:
            with contextlib.suppress(OSError):
                await self.save()

    async def save(self) -> None:
        """Write the register to disk now, if anything changed since the last save."""
        if not self._dirty:
            return
        self._dirty = False
        records = state.snapshot(list(self._assets.values()))
        try:
            await asyncio.to_thread(state.save, self.path, records)
        except OSError as exc:
            self._dirty = True
            log.warning(
                "cannot save the asset register; a restart may tell its last changes again",
                file=str(self.path),
                error=exc.strerror or str(exc),
            )
