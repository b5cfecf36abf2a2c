"""The MQTT listener: subscribes with QoS 1 in a persistent session, turns each message into
a reading, hands batches to the agent and acknowledges them only once they are on disk.

Acknowledgement: aiomqtt 2.5 acknowledges every message as soon as it is queued for us and
has no switch for it; :mod:`campus_core.aiomqtt_compat` turns manual acknowledgement on,
and every PUBACK is sent after ``deliver`` returned. A message not acknowledged when the
connection drops or the agent stops is sent again by the broker in the next session
(at-least-once).

For the asset register, the listener keeps each sensor it hears (by its topic's tags):
where it spoke, when it last did, and what its payload states about it (the profile's
``identity_fields``); the agent reads that through :meth:`MqttListener.sightings`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field

import aiomqtt
import structlog

from campus_core.aiomqtt_compat import Unsupported, ack, enable_manual_acks
from campus_core.clock import now_ms
from campus_core.devices import Deliver
from campus_core.identity import Identity, SeriesTags, Sighting
from campus_core.mqtt import BrokerError, Session, explain, make_client
from campus_core.readings import Reading

from .config import MqttDevice
from .payload import PayloadError

log = structlog.get_logger("drivers.mqtt")

#: Messages handed to the agent in one ``deliver`` at most.
MAX_BATCH = 1000
#: Reconnect attempts back off up to this far apart.
MAX_BACKOFF = 60.0
#: A connection that lasted this long resets the backoff (a broker that drops us at once does not).
STABLE_AFTER = 30.0
#: A reason for rejecting messages is logged at most once per this many seconds.
LOG_EVERY = 30.0
#: Series whose last arrival time is remembered (to keep arrival timestamps distinct).
MAX_SERIES = 10_000


@dataclass
class ListenerStats:
    """What a listener has seen since it started."""

    received: int = 0
    delivered: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    connects: int = 0
    connect_failures: int = 0
    #: Subscribed on a live connection now.
    connected: bool = False
    last_error: str | None = None
    last_reject: str | None = None

    @property
    def rejected_total(self) -> int:
        """Messages not turned into a reading, for every reason."""
        return sum(self.rejected.values())


class RejectLog:
    """Counts rejected messages by kind and logs each kind at most once per ``every`` seconds."""

    def __init__(self, device: str, stats: ListenerStats, every: float = LOG_EVERY) -> None:
        self._device = device
        self._stats = stats
        self._every = every
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def reject(self, kind: str, topic: str, reason: str) -> None:
        """Count one rejected message; log it unless this kind was logged recently."""
        stats = self._stats
        stats.rejected[kind] = stats.rejected.get(kind, 0) + 1
        stats.last_reject = f"{topic}: {reason}"
        now = time.monotonic()
        if now - self._last.get(kind, -self._every) < self._every:
            self._quiet[kind] = self._quiet.get(kind, 0) + 1
            return
        self._last[kind] = now
        log.warning(
            "mqtt message rejected",
            device=self._device,
            topic=topic,
            kind=kind,
            reason=reason,
            rejected=stats.rejected[kind],
            not_logged_since_last=self._quiet.pop(kind, 0),
        )


class Backoff:
    """1s, 2s, 4s ... up to ``cap``, with jitter so that gateways do not retry in step."""

    def __init__(self, cap: float = MAX_BACKOFF) -> None:
        self.cap = cap
        self.failures = 0

    def next(self) -> float:
        """The wait before the next attempt."""
        self.failures += 1
        return min(self.cap, 2.0 ** (self.failures - 1)) * random.uniform(0.5, 1.0)


class MqttListener:
    """One ``[[devices.mqtt]]`` entry at work: connect, subscribe, receive, deliver, acknowledge."""

    def __init__(self, config: MqttDevice, probe: bool = False) -> None:
        """``probe``: a look for ``edge-agent test`` in a clean session of its own (client id
        + ``-test``), so that it neither takes the agent's session over nor acknowledges
        messages that are the agent's to receive."""
        self._config = config
        self._probe = probe
        self._patterns = config.patterns
        self._mapper = config.mapper()
        self.stats = ListenerStats()
        self._rejects = RejectLog(config.name, self.stats)
        self._last_ms: dict[tuple[tuple[str, str], ...], int] = {}
        self._connected_at: float | None = None
        self._sightings: dict[SeriesTags, Sighting] = {}
        self._stated: dict[SeriesTags, tuple[tuple[str, str | bytes | None], ...]] = {}
        self._identity_changes = 0

    @property
    def name(self) -> str:
        """The device name from the config."""
        return self._config.name

    @property
    def connected(self) -> bool:
        """Subscribed on a live connection to the broker now: the device is alive."""
        return self.stats.connected

    @property
    def connections(self) -> int:
        """Sessions opened so far; a new one means the broker may resend what it held."""
        return self.stats.connects

    @property
    def stale_after(self) -> float:
        """A sensor quiet this long (``stale_after``) shows as not alive."""
        return self._config.stale_after

    @property
    def identity_changes(self) -> int:
        """Grows whenever a sensor is first heard or its payload states something new."""
        return self._identity_changes

    def sightings(self) -> dict[SeriesTags, Sighting]:
        """Every sensor heard (at most :data:`MAX_SERIES`), by its topic's tags."""
        return dict(self._sightings)

    async def run(self, deliver: Deliver) -> None:
        """Receive until cancelled, reconnecting with backoff after any failure."""
        config = self._config
        backoff = Backoff()
        while True:
            try:
                await self._session(deliver, backoff)
            except (aiomqtt.MqttError, BrokerError, OSError) as exc:
                self.stats.connected = False
                error = explain(exc, config)
                if self._connected_at is not None and time.monotonic() - self._connected_at > STABLE_AFTER:
                    backoff.failures = 0
                self._connected_at = None
                self.stats.last_error = error.reason
                delay = backoff.next()
                if backoff.failures == 1 or error.auth:
                    level = log.error if error.auth else log.warning
                else:
                    level = log.info
                level(
                    "mqtt broker connection failed; retrying",
                    device=config.name,
                    broker=config.address.url,
                    reason=error.reason,
                    retry_in=round(delay, 1),
                    failures=backoff.failures,
                )
                self.stats.connect_failures += 1
                await asyncio.sleep(delay)

    async def _session(self, deliver: Deliver, backoff: Backoff) -> None:
        """One connection: lasts until the broker goes away (raises) or we are cancelled."""
        config = self._config
        if self._probe:
            session = Session(
                f"{config.session_id}-test", persistent=False, receive_maximum=config.max_inflight
            )
        else:
            session = Session(
                config.session_id,
                persistent=True,
                expiry=config.session_expiry,
                receive_maximum=config.max_inflight,
            )
        client = await make_client(config, session)
        try:
            enable_manual_acks(client)
        except Unsupported as exc:
            raise BrokerError(str(exc)) from None
        async with contextlib.AsyncExitStack() as stack:
            # aiomqtt bounds the CONNACK wait by `timeout`; this also bounds the TCP/TLS part.
            async with asyncio.timeout(config.timeout + 5):
                await stack.enter_async_context(client)
                for pattern in self._patterns:
                    granted = await client.subscribe(pattern.filter, qos=1, timeout=config.timeout)
                    _check_granted(granted, pattern.filter, config.address.url)
            self.stats.connects += 1
            self.stats.connected = True
            self.stats.last_error = None
            log.info(
                "mqtt subscribed",
                device=config.name,
                broker=config.address.url,
                client_id=session.client_id,
                topics=[p.filter for p in self._patterns],
                after_failures=backoff.failures,
            )
            self._connected_at = time.monotonic()
            try:
                await self._receive(client, deliver)
            finally:
                self.stats.connected = False

    async def _receive(self, client: aiomqtt.Client, deliver: Deliver) -> None:
        messages = client.messages
        while True:
            batch = [await anext(messages)]
            while len(messages) and len(batch) < MAX_BATCH:
                batch.append(await anext(messages))
            self.stats.received += len(batch)
            readings = [r for m in batch if (r := self._reading(m)) is not None]
            log.debug(
                "mqtt messages received",
                device=self._config.name,
                messages=len(batch),
                readings=len(readings),
                received_total=self.stats.received,
            )
            if readings:
                try:
                    await deliver(readings)
                except (asyncio.CancelledError, aiomqtt.MqttError):
                    raise
                except Exception as exc:
                    # Not on disk: not acknowledged. A new session makes the broker resend them.
                    raise BrokerError(
                        f"the agent's buffer refused {len(readings)} reading(s) "
                        f"({exc}); reconnecting to receive them again"
                    ) from exc
                self.stats.delivered += len(readings)
            for message in batch:
                ack(client, message)

    def _reading(self, message: aiomqtt.Message) -> Reading | None:
        """The reading in one message, or None after counting and logging why there is none."""
        topic = message.topic.value
        payload = bytes(message.payload)
        config = self._config
        if len(payload) > config.max_payload:
            self._rejects.reject(
                "too large",
                topic,
                f"payload of {len(payload)} bytes is over max_payload ({config.max_payload} bytes)",
            )
            return None
        tags = self._tags(topic)
        if tags is None:
            self._rejects.reject(
                "unexpected topic",
                topic,
                "the topic matches none of this device's "
                "filters (a subscription left in the broker session from an "
                "earlier config?); ignored",
            )
            return None
        if message.retain and self._mapper.timestamp is None:
            self._rejects.reject(
                "retained",
                topic,
                "a retained message carries an old value of "
                "unknown age and no timestamp is configured; ignored",
            )
            return None
        now = now_ms()
        try:
            time_ms, fields, stated = self._mapper.map_stating(payload, now)
        except PayloadError as exc:
            self._rejects.reject(exc.kind, topic, exc.reason)
            return None
        self._sighted(tags, topic, stated, now)
        if self._mapper.timestamp is None:
            time_ms = self._distinct(tags, time_ms)
        return Reading.of(config.name, time_ms, fields, tags)

    def _sighted(
        self, tags: SeriesTags, topic: str, stated: tuple[tuple[str, str | bytes | None], ...], now: int
    ) -> None:
        """Note that the sensor behind ``tags`` spoke; its identity is built only when it changed."""
        sighting = self._sightings.get(tags)
        if sighting is not None:
            sighting.seen_ms = now
            if stated == self._stated.get(tags) and topic == sighting.address:
                return
        elif len(self._sightings) >= MAX_SERIES:
            return  # a runaway topic tree: the register keeps the first sensors
        self._stated[tags] = stated
        self._sightings[tags] = Sighting(Identity.stated(stated) if stated else _NONE, topic, now)
        self._identity_changes += 1

    def _tags(self, topic: str) -> tuple[tuple[str, str], ...] | None:
        for pattern in self._patterns:
            tags = pattern.match(topic)
            if tags is not None:
                return tags
        return None

    def _distinct(self, series: tuple[tuple[str, str], ...], time_ms: int) -> int:
        """Arrival times 1 ms apart per series: a burst of messages must not overwrite itself."""
        last = self._last_ms.get(series)
        if last is not None and time_ms <= last:
            time_ms = last + 1
        if len(self._last_ms) >= MAX_SERIES and series not in self._last_ms:
            self._last_ms.clear()
        self._last_ms[series] = time_ms
        return time_ms


_NONE = Identity()


def _check_granted(granted: object, topic: str, broker: str) -> None:
    """A SUBACK may refuse a filter (MQTT 5 reason >= 0x80, or 0x80 in 3.1.1)."""
    codes = granted if isinstance(granted, list | tuple) else [granted]
    for code in codes:
        value = getattr(code, "value", code)
        if isinstance(value, int) and value >= 0x80:
            raise BrokerError(
                f"{broker} refused the subscription to {topic!r} ({code}): "
                "check the broker's ACL for this username",
                auth=True,
            )
        if isinstance(value, int) and value == 0:
            log.warning(
                "mqtt broker granted QoS 0 only: messages may be lost while the agent is down",
                broker=broker,
                topic=topic,
            )
