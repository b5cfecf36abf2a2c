"""The MQTT uplink: publishes buffered batches as line protocol to a broker, QoS 1.

:meth:`MqttSink.write` returns only once the broker's PUBACK came back, so the forwarder
acknowledges the buffer only then. The payload is the batch's line protocol, plain text
by default (what Telegraf's ``influx`` data format and most consumers read) or the
buffer's gzip bytes as they are with ``gzip = true``.

With MQTT 5 the PUBACK carries a reason code; aiomqtt 2.5 drops it, so the sink has it
from :func:`campus_core.aiomqtt_compat.on_puback` (one publish at a time per connection,
so the last code on a connection is the answer to our publish). MQTT 3.1.1 has no negative PUBACK: a
3.1.1 broker that drops a message for its ACL still acknowledges it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from campus_core.aiomqtt_compat import on_puback
from campus_core.mqtt import BrokerError, Session, explain, make_client
from campus_core.sinks import Pacing, SinkAuthError, SinkError, SinkRejected, SinkTooLarge

from .mqtt_config import MqttSink as MqttSinkConfig

#: PUBACK reason codes that still mean "accepted" (0x10: nobody subscribes right now).
ACCEPTED = frozenset({0, 0x10})
NOT_AUTHORISED, PACKET_TOO_LARGE, PAYLOAD_FORMAT_INVALID = 0x87, 0x95, 0x99

#: The MQTT uplink's pacing: it publishes one message at a time and sets no rate.
ONE_AT_A_TIME = Pacing()


class _Connection:
    """One connected client and the reason code of the last PUBACK it received."""

    def __init__(self, client: aiomqtt.Client, stack: contextlib.AsyncExitStack) -> None:
        self.client = client
        self.stack = stack
        self.last_reason: ReasonCode | None = None
        on_puback(client, self._received)

    def _received(self, reason: ReasonCode) -> None:
        self.last_reason = reason


class MqttSink:
    """Publishes each batch as one message to the topic of ``[[sinks.mqtt]]``."""

    def __init__(self, config: MqttSinkConfig) -> None:
        self._config = config
        self._name = config.name
        self._topic = config.resolved_topic
        self._connection: _Connection | None = None

    @property
    def name(self) -> str:
        """The sink's name (its buffer cursor)."""
        return self._name

    @property
    def url(self) -> str:
        """The broker, for messages (never with credentials)."""
        return self._config.address.url

    @property
    def batch_points(self) -> int:
        """Points per message at most."""
        return self._config.batch_points

    @property
    def retry_max(self) -> float:
        """The longest wait between retries."""
        return self._config.retry_max

    @property
    def pacing(self) -> Pacing:
        """One message at a time: the broker's QoS 1 acknowledgements come back in order."""
        return ONE_AT_A_TIME

    async def start(self) -> None:
        """Nothing to do: the first write connects (a broker down at start is a retried write)."""

    async def write(self, body: bytes, points: int) -> None:
        """Publish the batch; return once the broker acknowledged it, else raise a SinkError."""
        config = self._config
        payload = body if config.gzip else gzip.decompress(body)
        if len(payload) > config.max_payload:
            raise SinkTooLarge(
                self._name,
                f"{points} points make {len(payload)} bytes, over max_payload ({config.max_payload} bytes)",
            )
        connection = await self._connect()
        connection.last_reason = None
        try:
            async with asyncio.timeout(config.timeout + 1):
                await connection.client.publish(self._topic, payload, qos=1, timeout=config.timeout)
        except (aiomqtt.MqttError, OSError) as exc:  # TimeoutError is an OSError
            await self._disconnect()
            raise SinkError(
                self._name,
                f"{self.url}: no PUBACK for {points} points ({exc or 'timed out'}); they stay buffered",
            ) from None
        self._check(connection.last_reason, points)

    async def close(self) -> None:
        """Disconnect from the broker."""
        await self._disconnect()

    async def _connect(self) -> _Connection:
        if self._connection is not None:
            return self._connection
        config = self._config
        stack = contextlib.AsyncExitStack()
        try:
            client = await make_client(config, Session(config.session_id, persistent=False))
            async with asyncio.timeout(config.timeout + 5):
                await stack.enter_async_context(client)
        except (aiomqtt.MqttError, BrokerError, OSError) as exc:
            await _close_quietly(stack)
            error = explain(exc, config)
            kind = SinkAuthError if error.auth else SinkError
            raise kind(self._name, error.reason) from None
        self._connection = _Connection(client, stack)
        return self._connection

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await _close_quietly(connection.stack)

    def _check(self, reason: ReasonCode | None, points: int) -> None:
        """Turn a negative MQTT 5 PUBACK into the error class the forwarder acts on."""
        code = reason.value if reason is not None else 0
        if code in ACCEPTED:
            return
        where = f"{self.url} refused {points} points on {self._topic!r} ({reason})"
        if code == NOT_AUTHORISED:
            raise SinkAuthError(
                self._name,
                f"{where}: check the broker's ACL for user {self._config.username or '(anonymous)'}",
            )
        if code == PACKET_TOO_LARGE:
            raise SinkTooLarge(self._name, where)
        if code == PAYLOAD_FORMAT_INVALID:
            raise SinkRejected(self._name, where, code)
        raise SinkError(self._name, where)


async def _close_quietly(stack: contextlib.AsyncExitStack) -> None:
    # A connection that already broke has nothing to say on the way out.
    with contextlib.suppress(aiomqtt.MqttError, OSError):
        async with asyncio.timeout(5):
            await stack.aclose()
