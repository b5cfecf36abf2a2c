"""One device's conversation: find it, then read many properties in as few requests as it allows.

Opening a session takes the shared endpoint (:mod:`.link`), adds the route to a device
behind a router, and sends a unicast Who-Is to the device's address: its I-Am says its
instance, max APDU, segmentation and vendor, which size the ReadPropertyMultiple requests
(:mod:`.plan`) and let bacpypes3 decode its answers. A device that does not answer the
Who-Is but was given a ``device_instance`` is asked for the same through ReadProperty.

:meth:`Session.read` reads ``(object, [properties])`` pairs with ReadPropertyMultiple. A
device that refuses the service (Reject unrecognized-service, or an Error of class
services) is read with one ReadProperty per property from then on: the session remembers
it across reconnects, as the Modbus driver remembers holes. An answer aborted for its size
(segmentation-not-supported, buffer-overflow, apdu-too-long) halves the objects per request,
and that size is kept. Per-property errors come back as :class:`Problem` values; only a
device that does not answer, or answers nonsense, raises :class:`BacnetError`.

Only Who-Is, ReadProperty, ReadPropertyMultiple and SubscribeCOV (:mod:`.cov`) are sent:
never a write.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bacpypes3.apdu import AbortPDU, ErrorPDU, ErrorRejectAbortNack, RejectPDU
from bacpypes3.basetypes import ErrorType, PropertyIdentifier
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier

from .config import BacnetDevice
from .link import MAX_APDU, MAX_SEGMENTS, Endpoint, EndpointError, EndpointKey, acquire, release
from .plan import Budget, chunks

__all__ = ["BacnetError", "Peer", "Problem", "Session", "describe_refusal"]

Key = tuple[ObjectIdentifier, PropertyIdentifier]
Item = tuple[ObjectIdentifier, list[PropertyIdentifier]]

#: Aborts that mean "too big for me": fewer objects per request then.
SIZE_ABORTS = frozenset(
    {"segmentation-not-supported", "buffer-overflow", "apdu-too-long", "out-of-resources"}
)
#: Properties whose value is text (their answers are budgeted larger).
TEXT_PROPERTIES = frozenset({"state-text", "object-name", "description", "model-name", "vendor-name"})


class BacnetError(Exception):
    """The device cannot be read now; ``reason`` says what to check."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Problem:
    """A property the device refused: its error class and code (``object``, ``unknown-object``)."""

    error_class: str
    error_code: str

    def __str__(self) -> str:
        return f"{self.error_class}: {self.error_code}"


@dataclass(frozen=True, slots=True)
class Peer:
    """What the device said of itself in its I-Am."""

    instance: int
    max_apdu: int
    segmentation: str
    vendor: int


def describe_refusal(exc: BaseException) -> str:
    """An Error, Reject or Abort in words: ``Reject unrecognized-service``."""
    if isinstance(exc, ErrorPDU):
        return f"Error {getattr(exc, 'errorClass', '?')}: {getattr(exc, 'errorCode', '?')}"
    if isinstance(exc, RejectPDU):
        return f"Reject {exc.apduAbortRejectReason}"
    if isinstance(exc, AbortPDU):
        return f"Abort {exc.apduAbortRejectReason}"
    return str(exc) or type(exc).__name__


def _problem(value: Any) -> Problem:
    return Problem(str(getattr(value, "errorClass", "?")), str(getattr(value, "errorCode", "?")))


class Session:
    """The conversation with one device, kept across polls and opened again when lost."""

    def __init__(self, config: BacnetDevice) -> None:
        self.config = config
        host, port = config.endpoint
        self.router = f"{host}:{port}"
        self.address = (
            Address(f"{config.network}:{config.mac}") if config.network is not None else Address(self.router)
        )
        self.endpoint: Endpoint | None = None
        self.peer: Peer | None = None
        #: None until the device answered or refused ReadPropertyMultiple; then remembered.
        self.rpm: bool | None = None
        self.max_objects = config.max_objects_per_request
        self.rpm_requests = 0
        self.single_reads = 0
        self.connects = 0

    @property
    def open(self) -> bool:
        """The endpoint is held and the device answered."""
        return self.endpoint is not None and self.peer is not None

    @property
    def app(self) -> Any:
        """The bacpypes3 application of the endpoint."""
        if self.endpoint is None:
            raise BacnetError("no session")
        return self.endpoint.application

    @property
    def where(self) -> str:
        """The device's address for messages."""
        config = self.config
        if config.network is not None:
            return f"{config.network}:{config.mac} via router {self.router}"
        return self.router

    async def connect(self) -> Peer:
        """Take the endpoint and find the device; BacnetError when it does not answer."""
        config = self.config
        bbmd = None
        if config.bbmd is not None:
            from .config import split_host_port

            bbmd = split_host_port(config.bbmd)
        key = EndpointKey(config.local_address, config.port, bbmd, round(config.bbmd_ttl))
        if self.endpoint is None:
            try:
                self.endpoint = await acquire(key, config.timeout)
            except EndpointError as exc:
                raise BacnetError(str(exc)) from None
        if config.network is not None:
            await self.endpoint.route(config.network, self.router)
        self.peer = await self._find()
        self.connects += 1
        return self.peer

    async def _find(self) -> Peer:
        config = self.config
        instance = config.device_instance
        low, high = (instance, instance) if instance is not None else (None, None)
        future = self.app.who_is(low, high, self.address, timeout=config.timeout)
        try:
            async with asyncio.timeout(config.timeout + 1):
                i_ams = await future
        except TimeoutError:
            i_ams = []
        if i_ams:
            i_am = i_ams[0]
            await self.app.device_info_cache.set_device_info(i_am)
            return Peer(
                int(i_am.iAmDeviceIdentifier[1]),
                int(i_am.maxAPDULengthAccepted),
                str(i_am.segmentationSupported),
                int(i_am.vendorID),
            )
        if instance is None:
            raise BacnetError(
                f"no answer from {self.where} to Who-Is within {config.timeout:g}s; check address "
                "(and port, 47808 unless the device says otherwise), that the device is on, and "
                "that UDP reaches it; set device_instance if it answers reads but not Who-Is"
            )
        return await self._peer_from_device_object(instance)

    async def _peer_from_device_object(self, instance: int) -> Peer:
        device = ObjectIdentifier(("device", instance))
        props = [PropertyIdentifier(p) for p in ("max-apdu-length-accepted", "segmentation-supported")]
        values = await self.read([(device, props)])
        apdu, segmentation = (values.get((device, p)) for p in props)
        if isinstance(apdu, Problem) or apdu is None:
            raise BacnetError(
                f"device {instance} at {self.where} does not answer (neither Who-Is nor a read of its "
                "device object); check address, port and device_instance"
            )
        return Peer(instance, int(apdu), str(segmentation), 0)

    def forget(self) -> None:
        """Forget the device (it is found again at the next connect); the endpoint is kept."""
        self.peer = None

    async def close(self) -> None:
        """Let go of the endpoint (the last device out closes the socket)."""
        endpoint, self.endpoint, self.peer = self.endpoint, None, None
        if endpoint is not None:
            await release(endpoint)

    def budget(self) -> Budget:
        """What one ReadPropertyMultiple may hold now."""
        peer = self.peer
        max_apdu = min(peer.max_apdu if peer else 480, MAX_APDU)
        segmented = peer is not None and peer.segmentation in ("segmented-both", "segmented-transmit")
        return Budget(max_apdu, segmented, MAX_SEGMENTS, self.max_objects)

    async def read(self, items: list[Item]) -> dict[Key, Any]:
        """The value (or :class:`Problem`) of every property of ``items``; BacnetError when no answer."""
        values: dict[Key, Any] = {}
        if self.rpm is False:
            await self._read_each(items, values)
            return values
        start = 0
        while start < len(items):
            shape = [(len(p), _texts(o, p)) for o, p in items[start:]]
            size = chunks(shape, self.budget())[0]
            chunk = items[start : start + size]
            try:
                answer = await self.ask(self.app.read_property_multiple(self.address, _flat(chunk)))
            except (RejectPDU, ErrorPDU) as exc:
                if _refuses_service(exc):
                    self.rpm = False
                    await self._read_each(items[start:], values)
                    return values
                # An error for the whole request (some devices answer so when every property
                # fails): ask each property, so each gets its own answer.
                await self._read_each(chunk, values)
                start += size
                continue
            except AbortPDU as exc:
                if str(exc.apduAbortRejectReason) in SIZE_ABORTS and size > 1:
                    self.max_objects = max(1, size // 2)
                    continue
                raise BacnetError(
                    f"{self.where} aborted ReadPropertyMultiple: {describe_refusal(exc)}"
                ) from None
            self.rpm = True
            self.rpm_requests += 1
            for object_id, prop, _index, value in answer or ():
                values[(object_id, prop)] = _problem(value) if isinstance(value, ErrorType) else value
            start += size
        return values

    async def _read_each(self, items: list[Item], values: dict[Key, Any]) -> None:
        """One ReadProperty per property, a few in flight at a time."""
        keys = [(object_id, prop) for object_id, props in items for prop in props]
        for start in range(0, len(keys), 4):
            batch = keys[start : start + 4]
            answers = await asyncio.gather(*(self._read_one(o, p) for o, p in batch))
            values.update(zip(batch, answers, strict=True))

    async def _read_one(self, object_id: ObjectIdentifier, prop: PropertyIdentifier) -> Any:
        self.single_reads += 1
        try:
            return await self.ask(self.app.read_property(self.address, object_id, prop))
        except (ErrorPDU, RejectPDU) as exc:
            if isinstance(exc, ErrorPDU):
                return _problem(exc)
            return Problem("reject", str(exc.apduAbortRejectReason))
        except AbortPDU as exc:
            raise BacnetError(f"{self.where} aborted ReadProperty: {describe_refusal(exc)}") from None

    async def ask(self, call: Any) -> Any:
        """Await one confirmed request, bounded by the device's timeout; no answer is BacnetError."""
        timeout = self.config.timeout
        try:
            # bacpypes3 aborts at the endpoint's apduTimeout (the longest of the devices sharing
            # it); this bound is the device's own, with room for a segmented answer. Not
            # wait_for: on Python 3.11 it swallows a cancellation that comes in the loop turn
            # the answer does (CPython gh-86296), and the agent's shutdown then waits for ever.
            async with asyncio.timeout(timeout * 1.25 + 0.25):
                return await call
        except TimeoutError:
            raise self._silent() from None
        except AbortPDU as exc:
            if str(exc.apduAbortRejectReason) in ("no-response", "tsm-timeout", "server-timeout"):
                raise self._silent() from None
            raise

    def _silent(self) -> BacnetError:
        return BacnetError(
            f"no answer from {self.where} within {self.config.timeout:g}s; check that the device is "
            "on and reachable (address, port), or raise timeout for a slow device or router"
        )


def _refuses_service(exc: ErrorRejectAbortNack) -> bool:
    if isinstance(exc, RejectPDU):
        return str(exc.apduAbortRejectReason) == "unrecognized-service"
    return str(getattr(exc, "errorClass", "")) == "services"


def _texts(object_id: ObjectIdentifier, props: list[PropertyIdentifier]) -> int:
    text_object = str(object_id[0]) == "characterstring-value"
    return sum(str(p) in TEXT_PROPERTIES or (text_object and str(p) == "present-value") for p in props)


def _flat(chunk: list[Item]) -> list[Any]:
    """bacpypes3's RPM argument: object, properties, object, properties, ..."""
    flat: list[Any] = []
    for object_id, props in chunk:
        flat += [object_id, list(props)]
    return flat
