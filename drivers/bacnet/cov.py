"""Change-of-value subscriptions of one device: subscribe, renew, collect what is notified.

Each object read for its present value gets a SubscribeCOV with confirmed notifications
and the device's ``cov_lifetime``; a task owned by :class:`Subscriptions` renews them all at
half the lifetime, so one lost renewal still leaves time for the next. A renewal that fails
marks the subscriptions lost: the driver's next poll opens the session again, subscribes
again and reads every present value once, so a change made while the device was away is
not skipped. Notifications wait in a bounded list until the next poll takes them; past the
bound the oldest go, counted.

bacpypes3's own ``change_of_value`` context is not used: it renews from a timer whose
failures nobody hears of, and queues without a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bacpypes3.apdu import AbortPDU, ErrorPDU, RejectPDU, SubscribeCOVRequest
from bacpypes3.primitivedata import ObjectIdentifier
from bacpypes3.vendor import get_vendor_info

from campus_core.clock import now_ms

from .session import BacnetError, Session, describe_refusal

__all__ = ["Notification", "Subscriptions"]

#: Notifications kept between two polls.
MAX_PENDING = 10_000
_PROCESS_IDS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Notification:
    """What one COV notification said of one object, when it arrived."""

    time_ms: int
    object_id: ObjectIdentifier
    values: dict[str, Any]


class Subscriptions:
    """The COV subscriptions of one session."""

    def __init__(self, session: Session, lifetime: float, on_lost: Callable[[str], None]) -> None:
        self.session = session
        self.lifetime = round(lifetime)
        self.process_id = next(_PROCESS_IDS) % (1 << 22)
        self.objects: list[ObjectIdentifier] = []
        self.pending: list[Notification] = []
        self.received = 0
        self.dropped = 0
        self.renewals = 0
        self.lost: str | None = None
        self._on_lost = on_lost
        self._task: asyncio.Task[None] | None = None

    async def subscribe(self, objects: list[ObjectIdentifier]) -> dict[ObjectIdentifier, str]:
        """Subscribe to each object; the ones the device refused, with its answer."""
        app = self.session.app
        app.subscribers[(self.session.address, self.process_id)] = self._notified
        refused: dict[ObjectIdentifier, str] = {}
        for object_id in objects:
            why = await self._subscribe_one(object_id)
            if why is None:
                self.objects.append(object_id)
            else:
                refused[object_id] = why
        if self.objects and self._task is None:
            self._task = asyncio.create_task(self._renew(), name=f"bacnet-cov-{self.session.config.name}")
        return refused

    async def _subscribe_one(self, object_id: ObjectIdentifier) -> str | None:
        request = SubscribeCOVRequest(
            subscriberProcessIdentifier=self.process_id,
            monitoredObjectIdentifier=object_id,
            issueConfirmedNotifications=True,
            lifetime=self.lifetime,
            destination=self.session.address,
        )
        try:
            await self.session.ask(self.session.app.request(request))
        except (ErrorPDU, RejectPDU) as exc:
            return describe_refusal(exc)
        except AbortPDU as exc:
            return describe_refusal(exc)
        return None

    async def _renew(self) -> None:
        """Renew every subscription at half its lifetime, until cancelled or lost."""
        while True:
            await asyncio.sleep(self.lifetime / 2)
            try:
                for object_id in list(self.objects):
                    why = await self._subscribe_one(object_id)
                    if why is not None:
                        raise BacnetError(
                            f"the device refused to renew the COV subscription of {object_id}: {why}"
                        )
            except BacnetError as exc:
                self._lose(exc.reason)
                return
            except Exception as exc:  # nothing may escape a task nobody awaits until close
                self._lose(f"renewing failed: {exc!r}")
                return
            self.renewals += 1

    def _lose(self, reason: str) -> None:
        self.lost = reason
        self._on_lost(reason)

    def _notified(self, apdu: Any) -> None:
        """Called by the application for each notification to our process id."""
        object_id = apdu.monitoredObjectIdentifier
        if object_id not in self.objects:
            return
        self.received += 1
        values: dict[str, Any] = {}
        object_class = get_vendor_info(0).get_object_class(object_id[0])
        for element in apdu.listOfValues or ():
            prop = element.propertyIdentifier
            kind = object_class.get_property_type(prop) if object_class is not None else None
            if kind is None:
                continue
            with contextlib.suppress(Exception):
                values[str(prop)] = element.value.cast_out(kind)
        if len(self.pending) >= MAX_PENDING:
            # A device flooding changes faster than we poll: the oldest go, counted.
            del self.pending[0]
            self.dropped += 1
        self.pending.append(Notification(now_ms(), object_id, values))

    def take(self) -> list[Notification]:
        """The notifications since the last call."""
        pending, self.pending = self.pending, []
        return pending

    async def close(self, cancel: bool = False) -> None:
        """Stop renewing and listening; with ``cancel``, also tell the device (bounded by its timeout).

        Without it (the device is gone anyway) the device drops them when the lifetime runs out.
        """
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # asyncio.wait, not a suppressed await: a cancellation of the caller must go through.
            await asyncio.wait([task])
        objects, self.objects = self.objects, []
        if cancel and objects and self.session.endpoint is not None:
            with contextlib.suppress(TimeoutError, BacnetError, ErrorPDU, RejectPDU, AbortPDU):
                async with asyncio.timeout(self.session.config.timeout):
                    await asyncio.gather(*(self._cancel_one(o) for o in objects))
        if self.session.endpoint is not None and self.session.endpoint.app is not None:
            self.session.endpoint.app.subscribers.pop((self.session.address, self.process_id), None)

    async def _cancel_one(self, object_id: ObjectIdentifier) -> None:
        # A SubscribeCOV without lifetime and confirmation cancels the subscription.
        request = SubscribeCOVRequest(
            subscriberProcessIdentifier=self.process_id,
            monitoredObjectIdentifier=object_id,
            destination=self.session.address,
        )
        await self.session.ask(self.session.app.request(request))
