"""OPC UA driver: reads the configured nodes of a server in as few Read requests as it allows.

One poll: open the session if there is none (channel, security, identity, then the
server's MaxNodesPerRead and the NodeIds of the configured nodes, browse paths resolved
once per session), read every node's Value in one Read (or in chunks of MaxNodesPerRead),
and turn the answers into one reading. Quality:

* a Bad StatusCode leaves the node out of the reading and is counted (``bad``) and logged
  once per node until it is good again;
* an Uncertain one is kept (the value is the server's best) and counted (``uncertain``),
  not tagged: a tag would start a new series each time the quality changes;
* a node the server does not know (BadNodeIdUnknown, a browse path that leads nowhere) is
  logged once as an error naming the device, the node and what to change; the others are
  read. Only when nothing is readable does the poll fail.

A lost connection or a server that stops answering fails the poll with a DeviceError;
the next poll opens a new session. The device is read-only to us: no Write is ever sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from types import TracebackType
from typing import Any, Self

import structlog
from asyncua import ua
from asyncua.ua.uaerrors import UaError

from campus_core.clock import now_ms
from campus_core.identity import Identity
from campus_core.readings import DeviceError, FieldValue, Reading

from .config import NodeSpec, OpcuaDevice
from .identity import read_identity
from .session import OpcuaError, Session, describe_failure, status_name

__all__ = ["OpcuaDriver", "OpcuaStats"]

log = structlog.get_logger("drivers.opcua")


@dataclass
class OpcuaStats:
    """What happened on the wire and what could not be used, for tests, metrics and logs."""

    polls: int = 0
    reads: int = 0
    connects: int = 0
    bad: int = 0
    uncertain: int = 0
    unknown: int = 0
    not_a_number: int = 0
    session_lost: int = 0
    subscriptions: int = 0
    #: Nodes whose deadband the server would not filter (the agent filters them instead).
    filters_refused: int = 0
    notifications: int = 0
    dropped_notifications: int = 0
    bad_by_status: dict[str, int] = field(default_factory=dict)


class OpcuaDriver:
    """Polls one OPC UA server over a session kept across polls."""

    def __init__(self, config: OpcuaDevice) -> None:
        self._config = config
        self._session = Session(config)
        self._targets: list[tuple[NodeSpec, Any]] = []
        self._logged: set[str] = set()
        self._changes = _Changes(config.max_pending)
        self._by_node: dict[Any, list[NodeSpec]] = {}
        self._tags: dict[str, str] = {}
        #: Subscribe mode: when the current values are read again (the shortest heartbeat).
        self._heartbeat_ms = int(1000 * min(seconds for _, seconds in heartbeats(config)))
        self._next_read_ms = 0
        self.stats = OpcuaStats()

    @property
    def name(self) -> str:
        """The device name from the config."""
        return self._config.name

    @property
    def read_limit(self) -> int:
        """Nodes per Read on the open session (the server's MaxNodesPerRead, or ours)."""
        return self._session.limit

    @property
    def connects(self) -> int:
        """Sessions opened to the server so far: a new one may be a restarted or new machine."""
        return self._session.connects

    async def identify(self) -> Identity:
        """What the server and its machine state (BuildInfo, DI identification), on the open session."""
        config = self._config
        if not self._session.open:
            raise DeviceError(config.name, f"no session to {config.url}; the next poll opens one")
        try:
            return await read_identity(self._session)
        except OpcuaError as exc:
            raise DeviceError(config.name, exc.reason) from None
        except (UaError, OSError, TimeoutError, ConnectionError) as exc:
            raise DeviceError(config.name, describe_failure(exc, config, "reading its identity")) from None
        finally:
            self.stats.reads = self._session.reads

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._session.close()

    async def poll(self) -> list[Reading]:
        """Read every configured node once; raise DeviceError naming what to check.

        In subscribe mode: on a new session, read the current values once and subscribe;
        afterwards return what the server notified since the last poll (at its source
        timestamps), after a small Read that proves the session is alive. When the
        heartbeat is due the current values are read again, so a machine with nothing new
        still shows its values (never a cached value with a new time).
        """
        config = self._config
        notified: list[Reading] = []
        try:
            fresh = not self._session.open
            if fresh:
                await self._open()
            if config.mode == "subscribe" and not fresh:
                await self._session.alive()
                notified = self._drain()
                if now_ms() < self._next_read_ms:
                    return notified
            values = await self._session.read([node_id for _, node_id in self._targets])
            if config.mode == "subscribe" and fresh:
                await self._subscribe()
        except OpcuaError as exc:
            await self._session.close()
            raise DeviceError(config.name, exc.reason) from None
        except (UaError, OSError, TimeoutError, ConnectionError) as exc:
            await self._session.close()
            self.stats.session_lost += 1
            raise DeviceError(config.name, describe_failure(exc, config, "reading")) from None
        finally:
            self.stats.reads = self._session.reads
        self.stats.polls += 1
        now = now_ms()
        self._next_read_ms = now + self._heartbeat_ms
        reading = self._reading(values, now)
        if reading is None:
            raise DeviceError(
                config.name,
                f"every node of {config.url} is Bad this poll (see the "
                "warnings for each); check the machine's controller",
            )
        if config.mode == "subscribe":
            self._tags = dict(reading.tags)
            # What was notified before this read is older than it: the read supersedes it.
            self._changes.pending.clear()
        return [*notified, reading]

    async def _subscribe(self) -> None:
        """Subscribe to every target on the new session; a refused node is named once."""
        self._changes = _Changes(self._config.max_pending)
        node_ids = [node_id for _, node_id in self._targets]
        handles = await self._session.subscribe(
            node_ids, self._changes, [_server_deadband(spec, self._config) for spec, _ in self._targets]
        )
        self.stats.filters_refused = self._session.filters_refused
        self._by_node = {}
        for (spec, node_id), handle in zip(self._targets, handles, strict=True):
            if handle is None:
                self._unknown(spec, "the server refused to monitor it")
                continue
            self._by_node.setdefault(node_id, []).append(spec)
        self.stats.subscriptions += 1

    def _drain(self) -> list[Reading]:
        """The notifications since the last poll as readings, one per source timestamp."""
        changes = self._changes
        self.stats.polls += 1
        self.stats.notifications += changes.received
        self.stats.dropped_notifications += changes.dropped
        changes.received = changes.dropped = 0
        pending, changes.pending = changes.pending, []
        groups: dict[int, list[tuple[str, FieldValue]]] = {}
        for node_id, data, arrived_ms in pending:
            for spec in self._by_node.get(node_id, ()):
                fields: list[tuple[str, FieldValue]] = []
                tags: list[tuple[str, str]] = []
                self._convert(spec, data, fields, tags)
                if tags:
                    self._tags.update(tags)
                if fields:
                    groups.setdefault(_source_ms(data, arrived_ms), []).extend(fields)
        known = tuple(self._tags.items())
        return [Reading.of(self.name, at, tuple(fields), known) for at, fields in sorted(groups.items())]

    async def _open(self) -> None:
        """Connect and find the configured nodes; the unknown ones are named once."""
        config = self._config
        await self._session.connect()
        self.stats.connects += 1
        resolved = await self._session.resolve()
        targets = []
        for spec, node_id, problem in zip(config.nodes, resolved.node_ids, resolved.problems, strict=True):
            if node_id is None:
                self._unknown(spec, problem or "not found")
                continue
            targets.append((spec, node_id))
        if not targets:
            await self._session.close()
            raise OpcuaError(
                f"none of the {len(config.nodes)} configured nodes exists on {config.url} "
                "(see the errors for each); check the profile, root and the NodeIds "
                f"with: edge-agent scan opcua --url {config.url}"
            )
        self._targets = targets

    def _unknown(self, spec: NodeSpec, problem: str) -> None:
        self.stats.unknown += 1
        key = f"unknown:{spec.name}"
        if key in self._logged:
            return
        self._logged.add(key)
        what = "node" if spec.node is not None else "path"
        log.error(
            "node not on the server; left out",
            device=self.name,
            value=spec.name,
            **{what: spec.where},
            reason=problem,
            fix=f"correct {what} of {spec.name!r} (or root) in the config, listing the server with "
            f"edge-agent scan opcua --url {self._config.url}, then reload",
        )

    def _reading(self, values: list[Any], now_ms: int) -> Reading | None:
        fields: list[tuple[str, FieldValue]] = []
        tags: list[tuple[str, str]] = []
        for (spec, _), data in zip(self._targets, values, strict=True):
            self._convert(spec, data, fields, tags)
        if not fields and not tags:
            return None
        return Reading.of(self.name, now_ms, tuple(fields), tuple(tags))

    def _convert(
        self, spec: NodeSpec, data: Any, fields: list[tuple[str, FieldValue]], tags: list[tuple[str, str]]
    ) -> None:
        """One DataValue into a field or a tag, by its quality (see the module's docstring)."""
        stats = self.stats
        status = data.StatusCode_
        code = status.value if status is not None else 0
        if status is not None and status.is_bad():
            name = status_name(code)
            stats.bad += 1
            stats.bad_by_status[name] = stats.bad_by_status.get(name, 0) + 1
            if code in (ua.StatusCodes.BadNodeIdUnknown, ua.StatusCodes.BadNodeIdInvalid):
                self._unknown(spec, f"the server answers {name}")
            elif f"bad:{spec.name}" not in self._logged:
                self._logged.add(f"bad:{spec.name}")
                log.warning(
                    "node answers Bad; left out until it is good again",
                    device=self.name,
                    value=spec.name,
                    node=spec.where,
                    status=name,
                )
            return
        self._logged.discard(f"bad:{spec.name}")
        if status is not None and status.is_uncertain():
            stats.uncertain += 1
        raw = data.Value.Value if data.Value is not None else None
        if spec.tag is not None:
            text = _text(raw)
            if text:
                tags.append((spec.tag, text))
            return
        number = _number(raw)
        if number is None:
            self._not_a_number(spec, raw)
        elif isinstance(number, bool):
            fields.append((spec.name, number))
        else:
            fields.append((spec.name, number * spec.scale + spec.offset))

    def _not_a_number(self, spec: NodeSpec, raw: Any) -> None:
        self.stats.not_a_number += 1
        key = f"nan:{spec.name}"
        if key not in self._logged:
            self._logged.add(key)
            log.warning(
                'node holds no number; left out (text goes into a tag: tag = "...")',
                device=self.name,
                value=spec.name,
                node=spec.where,
                type=type(raw).__name__,
            )


class _Changes:
    """asyncua's subscription handler: keeps the notifications until the next poll takes them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending: list[tuple[Any, Any, int]] = []
        self.received = 0
        self.dropped = 0

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        """Called by asyncua on the event loop for each changed value."""
        self.received += 1
        if len(self.pending) >= self.limit:
            # A server flooding changes faster than we poll: the oldest go, counted.
            del self.pending[0]
            self.dropped += 1
        self.pending.append((node.nodeid, data.monitored_item.Value, now_ms()))


def heartbeats(config: OpcuaDevice) -> list[tuple[str | None, float]]:
    """Every heartbeat the device keeps (its own, and each node's that sets one)."""
    found: list[tuple[str | None, float]] = [(None, config.heartbeat)]
    found += [(n.name, n.heartbeat) for n in config.nodes if n.heartbeat is not None]
    return found


def _server_deadband(spec: NodeSpec, config: OpcuaDevice) -> float | None:
    """The absolute deadband to ask the server for, in the node's own units; None: none.

    Only for a field sent on change with an absolute deadband: a percentage here is of the
    value last sent, and OPC UA's percent deadband is of the node's EURange, another thing.
    """
    if spec.field is None or (spec.report or config.report) != "on_change":
        return None
    if spec.sets_deadband():
        absolute = spec.deadband
    elif config.deadband_pct is None:
        absolute = config.deadband
    else:
        absolute = None
    if not absolute:
        return None
    return absolute / abs(spec.scale)


def _source_ms(data: Any, arrived_ms: int) -> int:
    """The value's source timestamp in ms (the server's, else when it arrived)."""
    stamp = data.SourceTimestamp or data.ServerTimestamp
    if stamp is None:
        return arrived_ms
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1000)


def _number(raw: Any) -> float | bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        return float(raw)
    return None


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, ua.LocalizedText):
        return raw.Text or None
    if isinstance(raw, ua.QualifiedName):
        return str(raw.Name) if raw.Name else None
    if isinstance(raw, bytes | bytearray | list):
        return None
    return str(raw).strip() or None
