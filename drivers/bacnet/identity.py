"""What a BACnet device states about itself: its device object's nameplate properties.

One read of the device object (``vendor-name``, ``model-name``, ``firmware-revision``,
``application-software-version``, ``serial-number``) on the open session, in a single
ReadPropertyMultiple where the device takes one. ``serial-number`` is optional in BACnet:
a device without it answers an error for that property alone, and the rest is kept.
"""

from __future__ import annotations

from typing import Any

from bacpypes3.basetypes import PropertyIdentifier
from bacpypes3.primitivedata import ObjectIdentifier

from campus_core.identity import Identity, RawText

from .session import Problem, Session

#: The device object's properties read, by the identity key each becomes.
NAMEPLATE = {
    "vendor": "vendor-name",
    "model": "model-name",
    "firmware": "firmware-revision",
    "application": "application-software-version",
    "serial": "serial-number",
}


async def read_identity(session: Session) -> Identity:
    """What the device object states now (the session must be open)."""
    assert session.peer is not None
    device = ObjectIdentifier(("device", session.peer.instance))
    props = [PropertyIdentifier(name) for name in NAMEPLATE.values()]
    answers = await session.read([(device, props)])
    return Identity.stated(
        {key: _text(answers.get((device, PropertyIdentifier(name)))) for key, name in NAMEPLATE.items()}
    )


def _text(value: Any) -> RawText:
    # A property the device lacks answers an error (a Problem): not stated, not a value.
    if value is None or isinstance(value, Problem):
        return None
    return str(value)
