"""What every page builder works with: the settings, the sources, and the fleet's verdict.

The fleet's verdict on each gateway is :mod:`campus_ops.fleet`'s own (``gather`` then
``judge``), so the city page and ``campus-ops fleet`` never disagree; the asset register's
page is ``campus-ops assets``' own the same way. Those read the store with blocking HTTP
(and a timeout on every request), in a worker thread, off the event loop
(:meth:`Context.blocking`); the fleet's answer is kept for a few seconds so several open
pages share it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import aiohttp

from campus_ops import fleet
from campus_ops.roster import Roster
from campus_ops.store import Store, StoreError

from .sources import ErrorKind, PromQL, SourceError, VMAlert

#: How long one fleet verdict serves every page that asks (the pages refresh every 15 s).
FLEET_TTL_S = 2.0
T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """The console's options, checked."""

    store_url: str
    vmalert_url: str | None = None
    roster: Roster | None = None
    token: str | None = None
    timeout_s: float = 10.0
    stale_s: float = 300.0
    backlog_s: float = 900.0
    lookback: str = "30d"
    charts_js: Path | None = None


class _RecordingStore(Store):
    """The fleet view's store client, keeping the query it asked last: a failed panel shows it."""

    last: str | None = None

    def query(self, promql: str) -> list[tuple[dict[str, str], float]]:
        self.last = promql
        return super().query(promql)


def _kind(message: str) -> ErrorKind:
    """The kind of a :class:`StoreError`, from the words campus_ops.store uses for each."""
    if '"status":"error"' in message.replace(" ", ""):
        return "refused"  # an error status whose body is the PromQL API's own error
    for pattern, kind in (
        (r"cannot be reached", "unreachable"),
        (r"did not answer within|no answer within", "timeout"),
        (r"refused the query", "refused"),
        (r"answered \d{3} ", "status"),
    ):
        if re.search(pattern, message):
            return kind  # type: ignore[return-value]  # the literals above are ErrorKinds
    return "format"


@dataclass
class Context:
    """The sources of one running console, opened in :meth:`open` and closed in :meth:`close`."""

    settings: Settings
    session: aiohttp.ClientSession | None = None
    _fleet: tuple[float, list[fleet.Gateway]] | None = None
    _fleet_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def open(self) -> None:
        """Open the HTTP session the sources share."""
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Close it."""
        if self.session is not None:
            await self.session.close()

    @property
    def store(self) -> PromQL:
        """The store's PromQL API."""
        assert self.session is not None, "Context.open() first"
        s = self.settings
        return PromQL(self.session, s.store_url, s.timeout_s, s.token)

    @property
    def vmalert(self) -> VMAlert | None:
        """vmalert's API, when the console was given one."""
        s = self.settings
        if s.vmalert_url is None or self.session is None:
            return None
        return VMAlert(self.session, s.vmalert_url, s.timeout_s, s.token)

    def school_name(self, code: str) -> str | None:
        """The school's name in the roster, if there is one."""
        roster = self.settings.roster
        return (
            next((school.name for school in roster.schools if school.code == code), None) if roster else None
        )

    def in_roster(self, code: str) -> bool:
        """Whether the roster lists the school."""
        roster = self.settings.roster
        return roster is not None and code in roster.codes()

    async def blocking(self, read: Callable[[Store], T]) -> T:
        """``read(store)`` with campus_ops' blocking store client, in a worker thread.

        For the views the command line shares (``campus-ops fleet``, ``campus-ops assets``):
        their failures become the :class:`SourceError` a panel shows.
        """
        s = self.settings
        store = _RecordingStore(s.store_url, timeout=s.timeout_s, token=s.token)
        try:
            return await asyncio.to_thread(read, store)
        except StoreError as exc:
            kind = _kind(str(exc))
            if kind == "refused" and store.last:
                # campus_ops.store keeps 300 bytes of the store's answer; asked again, the
                # store says all of it (a PromQL error's reason comes last).
                await self.store.instant(store.last)
            raise SourceError("store", s.store_url, kind, str(exc), store.last) from None

    async def gateways(self) -> list[fleet.Gateway]:
        """Every gateway worst first, with roster schools that never wrote, as ``campus-ops fleet``."""
        async with self._fleet_lock:
            if self._fleet is not None and time.monotonic() - self._fleet[0] < FLEET_TTL_S:
                return self._fleet[1]
            s = self.settings
            found = await self.blocking(lambda store: fleet.gather(store, s.lookback))
            roster = s.roster.codes() if s.roster else None
            view = fleet.judge(found, roster, now=time.time(), stale_s=s.stale_s, backlog_s=s.backlog_s)
            self._fleet = (time.monotonic(), view)
            return view
