"""Pull, verify, validate, apply, keep: the city's bundle on its way into the running agent.

Every ``fleet.interval`` the agent fetches its bundle (If-None-Match: an unchanged bundle
costs one 304). A new one must pass, in this order: a readable bundle; a valid signature by
a trusted key; every file as the manifest lists it; this school (or one of its groups) as
its target; a version above every one applied here (no downgrade, no version reused); only
the parts ``fleet.allow`` names; and the merged config valid exactly as ``edge-agent check``
finds it. The puller then offers it to the agent (:class:`Offer`), which applies it the way
it applies a SIGHUP (only what changed restarts); only once it is in force does the puller
keep it on disk as the bundle in force. The puller never applies anything itself.

A bundle that fails any step is refused: logged with the reason, written to the audit
trail and counted (``config_refused_total``); the running config stays. A server that is
down or hangs refuses nothing: the config in force stays and the next interval tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog

from campus_core.clock import now_ms

from ..audit import AuditTrail
from ..config import AgentConfig, ConfigError, LoadedConfig, load
from ..config.fleet import FleetSection
from ..inforce import InForce
from ..status import AgentStatus, Refusal
from .fetch import FetchError, fetch
from .keep import FleetState, KeptRefusal, keep, read_state, write_state
from .manifest import BundleRefused, VerifiedBundle, load_public_keys, verify
from .scope import parse_dropins

log = structlog.get_logger("edge_agent.bundle")


@dataclass(frozen=True)
class Offer:
    """A bundle that passed its own checks and makes, with the local files, a valid config.

    The agent applies it (as a SIGHUP is applied) and then tells the puller whether it did
    (:meth:`Puller.applied`, :meth:`Puller.not_applied`); the puller offers nothing else
    meanwhile.
    """

    bundle: VerifiedBundle
    loaded: LoadedConfig
    etag: str | None
    source: str


def verified(files: dict[str, bytes], fleet: FleetSection, school: str) -> VerifiedBundle:
    """Signature, files and target of a fetched bundle (reads the key files: off the loop)."""
    try:
        keys = load_public_keys(fleet.trusted_keys)
    except ValueError as exc:
        raise BundleRefused("signature", str(exc)) from None
    return verify(files, keys, school=school, groups=fleet.groups)


def no_downgrade(bundle: VerifiedBundle, state: FleetState) -> None:
    """Refuse a bundle older than one applied here, or a version reused with other content."""
    version = bundle.manifest.version
    if version < state.highest_version:
        raise BundleRefused(
            "downgrade",
            f"version {version} is older than version {state.highest_version} "
            "applied before; the city must issue a higher version (a rollback too)",
        )
    if version == state.highest_version and bundle.sha256 != state.sha256:
        raise BundleRefused(
            "downgrade",
            f"version {version} was applied before with other content; a bundle's version is never reused",
        )


class Puller:
    """Checks the city's bundle every ``fleet.interval`` until cancelled; offers what passes."""

    def __init__(self, status: AgentStatus, in_force: InForce, audit: AuditTrail) -> None:
        self._status = status
        self._in_force = in_force  # read at every turn: a SIGHUP may change [fleet]
        self._audit = audit
        self._wake = asyncio.Event()
        self._state = FleetState()
        #: The ETag sent with the next fetch: the bundle in force's, or the last one refused.
        self._etag: str | None = None
        self._offers: asyncio.Queue[Offer] = asyncio.Queue(maxsize=1)
        self._settled = asyncio.Event()

    async def offer(self) -> Offer:
        """The next bundle for the agent to apply; waits until there is one."""
        return await self._offers.get()

    def reconsider(self) -> None:
        """The local config changed (SIGHUP): look again now, a refused bundle included."""
        self._etag = self._state.etag
        self._wake.set()

    def in_force(self, bundle: VerifiedBundle | None) -> None:
        """The bundle part of the config now in force (None: the local files alone)."""
        current = self._status.bundle
        current.version = bundle.manifest.version if bundle else 0
        current.sha256 = bundle.sha256 if bundle else None
        if bundle is None or bundle.sha256 != self._state.sha256:
            current.applied_ms = now_ms() if bundle else None
        else:
            current.applied_ms = self._state.applied_ms

    async def run(self) -> None:
        """Until cancelled: check now, then every interval; an offer waits until the agent settled it."""
        bundle = self._in_force.bundle  # the one the agent started with
        state_dir = self._in_force.config.agent.state_dir
        self._state = await asyncio.to_thread(read_state, state_dir)
        self._etag = self._state.etag if bundle is not None and bundle.sha256 == self._state.sha256 else None
        self._status.bundle.refused_total = self._state.refused_total
        self.in_force(bundle)
        while True:
            config = self._in_force.config
            if config.fleet is not None:
                offer = await self.check(config, config.fleet)
                if offer is not None:
                    self._settled.clear()
                    await self._offers.put(offer)
                    await self._settled.wait()
            interval = config.fleet.interval if config.fleet is not None else 60.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()

    async def check(self, config: AgentConfig, fleet: FleetSection) -> Offer | None:
        """One turn: fetch, and if the bundle changed, verify and validate it; the offer, if any."""
        status = self._status.bundle
        status.checks += 1
        status.last_check_ms = self._state.last_check_ms = now_ms()
        bundle: VerifiedBundle | None = None
        try:
            fetched = await fetch(
                fleet.url, self._etag, within=fleet.timeout, tls_ca=fleet.tls_ca, proxy=fleet.proxy
            )
        except FetchError as exc:
            status.fetch_failures += 1
            status.last_fetch_error = self._state.last_fetch_error = str(exc)
            log.warning(
                "cannot fetch the city's bundle; the config in force stays",
                url=fleet.url,
                error=str(exc),
                bundle_version=status.version,
            )
            await self._save(config)
            return None
        except BundleRefused as exc:
            await self._refuse(config, exc, None, None)
            return None
        status.last_fetch_error = self._state.last_fetch_error = None
        if fetched.files is None:
            await self._save(config)
            return None
        try:
            bundle = await asyncio.to_thread(verified, fetched.files, fleet, config.agent.school)
            if bundle.sha256 == status.sha256:
                self._etag = self._state.etag = fetched.etag  # the bundle in force, served anew
                await self._save(config)
                return None
            no_downgrade(bundle, self._state)
            # Before merging: a part it may not set is refused as such, not as a bad config.
            await asyncio.to_thread(parse_dropins, bundle, fleet.allow)
            loaded = await asyncio.to_thread(self._load, bundle)
        except BundleRefused as exc:
            self._etag = fetched.etag  # asked again only once it changes (or the local config does)
            await self._refuse(config, exc, bundle, fleet.url)
            return None
        return Offer(bundle, loaded, fetched.etag, fleet.url)

    async def applied(self, offer: Offer) -> None:
        """The agent put the offer in force: keep it for the next start, never take anything older."""
        config = self._in_force.config
        bundle = offer.bundle
        await asyncio.to_thread(keep, config.agent.state_dir, bundle)
        state = self._state
        state.version, state.sha256, state.etag = bundle.manifest.version, bundle.sha256, offer.etag
        state.applied_ms = now_ms()
        state.highest_version = max(state.highest_version, bundle.manifest.version)
        self._etag = offer.etag
        self.in_force(bundle)
        await self._save(config)
        self._settled.set()

    async def not_applied(self, offer: Offer) -> None:
        """The agent could not apply the offer: refused, and the config in force stays."""
        refusal = BundleRefused("config", "the agent could not apply it (see the log)")
        await self._refuse(self._in_force.config, refusal, offer.bundle, offer.source)
        self._settled.set()

    def _load(self, bundle: VerifiedBundle) -> LoadedConfig:
        path = self._in_force.path
        if path is None:
            raise BundleRefused("config", "the agent knows no config file to merge the bundle with")
        try:
            return load(path, bundle)
        except ConfigError as exc:
            raise BundleRefused("config", "; ".join(str(p) for p in exc.problems)) from None

    async def _refuse(
        self, config: AgentConfig, exc: BundleRefused, bundle: VerifiedBundle | None, source: str | None
    ) -> None:
        status = self._status.bundle
        version = bundle.manifest.version if bundle else None
        sha = bundle.sha256 if bundle else None
        at = now_ms()
        status.refused_total += 1
        status.refused[exc.reason] = status.refused.get(exc.reason, 0) + 1
        status.last_refusal = Refusal(exc.reason, str(exc), version, sha, at)
        self._state.refused_total = status.refused_total
        self._state.last_refusal = KeptRefusal(
            reason=exc.reason, message=str(exc), version=version, sha256=sha, at_ms=at
        )
        self._audit.bundle_refused(exc.reason, str(exc), version, sha, source or "")
        await self._save(config)

    async def _save(self, config: AgentConfig) -> None:
        try:
            await asyncio.to_thread(write_state, config.agent.state_dir, self._state.model_copy())
        except OSError as exc:
            log.warning("cannot write the fleet state", state_dir=str(config.agent.state_dir), error=str(exc))
