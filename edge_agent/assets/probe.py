"""When the register asks each device who it is: on connect, after a reconnect, once a day.

A polled device's driver is wrapped (:class:`ProbedDriver`): right after a poll the device
answered, the probe runs if the device has just (re)connected (its first answer, its first
answer after failing, or a new connection the driver reports, at most once a minute) or
the interval has passed.
It runs in the device's own task, between two polls, so it never competes with a poll for
the device's connection. A device that does not answer when its probe is due changes
nothing: what the register knew is written again as it was.

A pushed device's listener keeps what each of its sensors states (:class:`PushedWatch`
looks every few seconds, and writes everything again at each interval). The gateway is
probed by :class:`GatewayProbe`.

Identity is read from the device and the config only; the probe's own failures are counted
(``identity_*`` in the device's events on /metrics) and never fail a poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import structlog

from campus_core.devices import DeviceConfig, Driver, Listener
from campus_core.identity import Identifying, IdentifyingListener, Identity, IdentityKeys, SeriesTags
from campus_core.readings import DeviceError, Reading

from ..config import AgentConfig
from ..normalise import PointEncoder
from .gateway import GATEWAY, PROTOCOL, gateway_identity
from .register import MEASUREMENT, AssetRegister

log = structlog.get_logger("edge_agent.assets")

#: A probe takes at most this long, whatever the device's timeouts add up to.
PROBE_BUDGET = 30.0
#: A probe that failed on a device that answers polls is tried again this soon at the latest.
RETRY_AFTER = 600.0
#: How often a pushed device's sensors are looked at for news.
WATCH_EVERY = 5.0
#: A new connection within this long of the last probe asks nothing: a noisy serial line
#: whose link resyncs every few minutes must not turn into a probe each time. (A device
#: answering again after failing is always asked: that is how a swap shows.)
RECONNECT_GAP = 60.0


@dataclass
class ProbeStats:
    """What the probes of one device did; :meth:`shown` is what /metrics gets of it."""

    identity_probes: int = 0
    identity_failures: int = 0
    identity_cleaned: int = 0
    identity_dropped: int = 0
    identity_changes: int = 0

    def shown(self) -> dict[str, int]:
        """The counters that say something (failures, cleaned or dropped values, changes),
        once they do: a scrape of a campus of 1,300 devices pays for every line and every
        call, and routine probes say nothing a person acts on."""
        quiet = not (self.identity_failures or self.identity_cleaned or self.identity_dropped)
        if quiet and not self.identity_changes:
            return {}
        found = {
            "identity_failures": self.identity_failures,
            "identity_cleaned": self.identity_cleaned,
            "identity_dropped": self.identity_dropped,
            "identity_changes": self.identity_changes,
        }
        return {key: count for key, count in found.items() if count}


def _declared(device: DeviceConfig) -> tuple[bool, Identity, str]:
    """Whether to ask the device, what its config declares, and its address."""
    if isinstance(device, IdentityKeys):
        return device.identity, device.declared(), device.asset_address
    return True, Identity(), ""


class ProbedDriver:
    """A polled device's driver with its identity probe between polls (a Driver itself)."""

    def __init__(self, driver: Driver, device: DeviceConfig, protocol: str, register: AssetRegister) -> None:
        self._driver = driver
        self._protocol = protocol
        self._register = register
        self._ask, self._declared, self._address = _declared(device)
        self._identifying = driver if isinstance(driver, Identifying) else None
        self._answering = False
        self._connects = 0
        self._next_at = 0.0
        self._probed_at = float("-inf")
        self.stats = ProbeStats()

    @property
    def name(self) -> str:
        """The device name from the config."""
        return self._driver.name

    async def __aenter__(self) -> Self:
        await self._driver.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._driver.__aexit__(exc_type, exc, tb)

    async def poll(self) -> list[Reading]:
        """The device's poll; then its probe when one is due."""
        try:
            readings = await self._driver.poll()
        except Exception:
            self._answering = False
            loop = asyncio.get_running_loop()
            if loop.time() >= self._next_at:
                # Down when its probe is due: the register keeps what it knew (perhaps
                # from before a restart) and says it again, unchanged.
                self._next_at = loop.time() + self._register.interval()
                self._register.repeat(self.name)
            raise
        identifying = self._identifying
        connects = identifying.connects if identifying is not None else 0
        now = asyncio.get_running_loop().time()
        if (
            not self._answering
            or now >= self._next_at
            or (connects != self._connects and now - self._probed_at >= RECONNECT_GAP)
        ):
            self._answering, self._connects = True, connects
            await self.probe()
        return readings

    async def probe(self) -> None:
        """Ask the device who it is now and hand the answer to the register."""
        loop = asyncio.get_running_loop()
        interval = self._register.interval()
        self._probed_at = loop.time()
        self.stats.identity_probes += 1
        stated = Identity()
        if self._ask and self._identifying is not None:
            try:
                async with asyncio.timeout(PROBE_BUDGET):
                    stated = await self._identifying.identify()
            except (DeviceError, TimeoutError) as exc:
                self._failed(loop, interval, exc.reason if isinstance(exc, DeviceError) else "took too long")
                return
            except Exception as exc:
                # A bug met on some odd answer: counted and logged, the polls go on.
                log.exception("identity probe failed unexpectedly", device=self.name, error=repr(exc))
                self._failed(loop, interval, f"internal error: {exc!r}")
                return
        self._next_at = loop.time() + interval
        stats = self.stats
        stats.identity_cleaned += stated.cleaned
        stats.identity_dropped += stated.dropped
        if stated.dropped:
            log.info(
                "identity values dropped: not text the register can keep",
                device=self.name,
                dropped=stated.dropped,
            )
        source = "device" if stated else "config"
        changes = self._register.record(
            self.name, self._protocol, self._address, stated.over(self._declared), source
        )
        stats.identity_changes += len(changes)

    def _failed(self, loop: asyncio.AbstractEventLoop, interval: float, reason: str) -> None:
        self.stats.identity_failures += 1
        log.info("identity not read; the register keeps what it knew", device=self.name, reason=reason)
        due = loop.time() >= self._next_at
        self._next_at = loop.time() + min(interval, RETRY_AFTER)
        if due:
            self._register.repeat(self.name)


class PushedWatch:
    """Writes what the sensors behind one pushed device state, when news comes and at each interval."""

    def __init__(
        self, listener: Listener, device: DeviceConfig, protocol: str, register: AssetRegister
    ) -> None:
        self._listener = listener if isinstance(listener, IdentifyingListener) else None
        self.name = listener.name
        self._protocol = protocol
        self._register = register
        _, self._declared, self._address = _declared(device)
        self._written: dict[SeriesTags, tuple[Identity, str]] = {}
        self._seen_changes = -1
        self.stats = ProbeStats()

    async def run(self) -> None:
        """Until cancelled."""
        loop = asyncio.get_running_loop()
        next_at = 0.0
        while True:
            due = loop.time() >= next_at
            if due:
                next_at = loop.time() + self._register.interval()
            self.look(everything=due)
            await asyncio.sleep(min(WATCH_EVERY, max(0.0, next_at - loop.time())))

    def look(self, everything: bool = False) -> None:
        """Record the sensors that are new or state something new (``everything``: all of them)."""
        listener = self._listener
        if listener is None:
            if everything:
                self._record((), self._declared, self._address, None, Identity())
            return
        changes = listener.identity_changes
        if changes == self._seen_changes and not everything:
            return
        self._seen_changes = changes
        sightings = listener.sightings()
        if everything:
            # Sensors known from before a restart and not heard since stay in the register.
            for asset in self._register.assets():
                if asset.device == self.name and asset.tags not in sightings:
                    self._register.repeat(self.name, asset.tags)
        for tags, sighting in sightings.items():
            address = f"{self._address} {sighting.address}".strip()
            if everything or self._written.get(tags) != (sighting.identity, address):
                self._written[tags] = (sighting.identity, address)
                identity = sighting.identity.over(self._declared)
                self._record(tags, identity, address, sighting.seen_ms, sighting.identity)

    def _record(
        self, tags: SeriesTags, identity: Identity, address: str, seen_ms: int | None, stated: Identity
    ) -> None:
        self.stats.identity_probes += 1
        source = "device" if stated else "config"
        changes = self._register.record(self.name, self._protocol, address, identity, source, tags, seen_ms)
        self.stats.identity_changes += len(changes)


async def watching(listening: Coroutine[Any, Any, None], watch: PushedWatch) -> None:
    """Run a listener with its watch beside it; the watch ends with it."""
    watcher = asyncio.create_task(watch.run(), name=f"identity:{watch.name}")
    try:
        await listening
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


class GatewayProbe:
    """Writes the gateway's own identity at start and at each interval."""

    def __init__(
        self, register: AssetRegister, encoders: dict[str, PointEncoder], config: Callable[[], AgentConfig]
    ) -> None:
        self._register = register
        self._encoders = encoders
        self._config = config

    async def probe(self) -> None:
        """Read the machine's identity now and record it."""
        agent = self._config().agent
        self._encoders[GATEWAY] = PointEncoder(
            MEASUREMENT, {"school": agent.school, "campus": agent.campus, "device": GATEWAY}
        )
        identity = await asyncio.to_thread(gateway_identity)
        self._register.record(GATEWAY, PROTOCOL, "", identity, "device")

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            await self.probe()
            await asyncio.sleep(self._register.interval())
