"""The ``[[sinks.mqtt]]`` config model: a broker the buffered batches are published to."""

from __future__ import annotations

import string

from pydantic import Field, PrivateAttr, field_validator, model_validator

from campus_core.mqtt import BrokerSettings
from campus_core.names import Name
from campus_core.plugins import Factory
from campus_core.sinks import Sink
from campus_core.units import ByteSize, Duration

#: What a topic template may name.
PLACEHOLDERS = ("school", "campus")


class MqttSink(BrokerSettings):
    """``[[sinks.mqtt]]``: publishes line protocol to a broker with QoS 1."""

    name: Name = Field(default="", description="in logs, metrics and the buffer's cursors; from the broker")
    topic: str = Field(description='topic template, e.g. "edu/{school}/{campus}/metrics"')
    gzip: bool = False
    batch_points: int = Field(default=1000, ge=1, le=1_000_000)
    max_payload: ByteSize = 256 * 1024
    retry_max: Duration = 30.0
    _school: str | None = PrivateAttr(default=None)
    _campus: str | None = PrivateAttr(default=None)

    @field_validator("topic")
    @classmethod
    def _template(cls, topic: str) -> str:
        if not topic or topic.startswith("$"):
            raise ValueError("a topic cannot be empty or start with '$'")
        if "+" in topic or "#" in topic or "\x00" in topic:
            raise ValueError("a topic to publish to has no wildcards ('+', '#')")
        try:
            parts = list(string.Formatter().parse(topic))
        except ValueError as exc:
            raise ValueError(f'not a topic template ({exc}); write e.g. "edu/{{school}}/metrics"') from None
        for _, name, spec, conversion in parts:
            if name is None:
                continue
            if name not in PLACEHOLDERS or spec or conversion:
                raise ValueError(
                    f"unknown placeholder {{{name}}}: a topic may name "
                    f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
                )
        return topic

    @model_validator(mode="after")
    def _named(self) -> MqttSink:
        if not self.name:
            self.name = f"mqtt-{self.address.host}"
        return self

    def bind_agent(self, school: str, campus: str) -> None:
        """Learn the gateway's identity: the topic template and the client id use it."""
        self._school = school
        self._campus = campus

    @property
    def resolved_topic(self) -> str:
        """The topic with ``{school}`` and ``{campus}`` filled in."""
        if self._school is None or self._campus is None:
            raise RuntimeError("the sink config was not bound to the agent's school and campus")
        return self.topic.format(school=self._school, campus=self._campus)

    @property
    def session_id(self) -> str:
        """The MQTT client id: ``client_id`` or one derived from the school and the sink's name."""
        return self.client_id or f"edge-{self._school}-sink-{self.name}"

    def create(self) -> Sink:
        """The sink this entry configures."""
        return _PUBLISHER(self)

    def describe(self) -> str:
        """One line for ``edge-agent check``."""
        topic = self.resolved_topic if self._school is not None else self.topic
        auth = f"user {self.username}" if self.username else "anonymous"
        return (
            f"mqtt {self.address.url} topic {topic} (QoS 1, {auth}, "
            f"{'gzip' if self.gzip else 'plain'} line protocol)"
        )


# The publisher imports this model; the model names it, so the arrow of imports runs one way.
_PUBLISHER = Factory[Sink]("edge_agent.sinks.mqtt:MqttSink")
