"""What aiomqtt 2.x does not offer and the agent needs, reached through its paho-mqtt client.

The only module of the project that touches ``aiomqtt.Client._client``: when aiomqtt gains
these, this file shrinks and nothing else changes. tests/core/test_aiomqtt_compat.py pins
the versions checked and fails on an upgrade that breaks what is reached into.

- **Manual acknowledgement** (upstream: https://github.com/empicano/aiomqtt/issues/345, the
  pull request #346 adds it): aiomqtt acknowledges a QoS 1 message as soon as it is queued,
  before the agent has it on disk. paho-mqtt >= 2.0 has ``manual_ack_set`` and
  ``ack(mid, qos)``, which the MQTT driver uses so that a PUBACK leaves only after the
  reading is in the buffer.
- **PUBACK reason codes** (upstream: https://github.com/eclipse-paho/paho.mqtt.python/issues/595
  for the history; aiomqtt's ``_on_publish`` keeps only the message id): with MQTT 5 a
  broker can refuse a publish in its PUBACK (an ACL: 0x87). The MQTT sink wraps paho's
  ``on_publish`` to see that code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

#: The versions whose internals this module was checked against (tests pin them).
CHECKED_AIOMQTT = ("2.3", "2.5")
CHECKED_PAHO = ("2.0", "2.2")


class Unsupported(RuntimeError):
    """The installed aiomqtt/paho-mqtt lacks what this adapter reaches for."""


def _paho(client: aiomqtt.Client) -> Any:
    paho = getattr(client, "_client", None)
    if paho is None:
        raise Unsupported("this aiomqtt has no paho-mqtt client inside; install aiomqtt 2.x")
    return paho


def enable_manual_acks(client: aiomqtt.Client) -> None:
    """Leave the PUBACK of every received QoS 1/2 message to :func:`ack`."""
    paho = _paho(client)
    if not hasattr(paho, "manual_ack_set") or not hasattr(paho, "ack"):
        raise Unsupported(
            "this aiomqtt/paho-mqtt has no manual acknowledgement; install aiomqtt 2.x with paho-mqtt >= 2.0"
        )
    paho.manual_ack_set(True)


def ack(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """Send the PUBACK of ``message`` on the session that received it (QoS 0 needs none)."""
    if message.qos > 0:
        _paho(client).ack(message.mid, message.qos)


def on_puback(client: aiomqtt.Client, received: Callable[[ReasonCode], None]) -> None:
    """Call ``received`` with the reason code of every PUBACK, before aiomqtt sees the PUBACK."""
    paho = _paho(client)
    delivered = paho.on_publish

    def on_publish(paho_client: Any, userdata: Any, mid: int, reason: ReasonCode, properties: Any) -> None:
        received(reason)
        delivered(paho_client, userdata, mid, reason, properties)

    paho.on_publish = on_publish
