"""The ``[[devices.mqtt]]`` config model: one subscription of pushed sensor readings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from campus_core.devices import Listener
from campus_core.identity import KEYS, IdentityKeys
from campus_core.mqtt import BrokerSettings
from campus_core.names import Name, SnakeCase
from campus_core.plugins import Factory
from campus_core.reporting import DeviceReporting, FieldReporting, FieldSettings, refuse_deadband
from campus_core.units import ByteSize, Duration

from .payload import FieldRule, FieldType, PayloadMapper, TimeFormat, TimeRule, parse_path
from .topic import TopicPattern

# The same naming rules as every device (drivers/modbus/config.py), kept here so that
# this driver does not depend on another one.
#: Messages the broker may send before we acknowledge (MQTT 5 Receive Maximum).
DEFAULT_INFLIGHT = 1000


class FieldSpec(FieldReporting):
    """One field: where its value lives in the JSON payload and how it is converted."""

    model_config = ConfigDict(extra="forbid")

    field: SnakeCase = Field(description="field name with its unit: co2_ppm")
    path: str = Field(description='dotted path into the JSON: "env.temp", "readings.0.v"')
    type: FieldType = "float"
    scale: float = 1.0
    offset: float = 0.0
    required: bool = True

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        parse_path(path)
        return path

    @model_validator(mode="after")
    def _bool_unscaled(self) -> FieldSpec:
        if self.type == "bool" and (self.scale != 1.0 or self.offset != 0.0):
            raise ValueError(f"field {self.field!r} is a bool: scale and offset do not apply")
        refuse_deadband(self, self.type != "bool")
        return self

    def rule(self) -> FieldRule:
        """The compiled rule the mapper runs."""
        return FieldRule(self.field, parse_path(self.path), self.type, self.scale, self.offset, self.required)


class TimestampSpec(BaseModel):
    """Where the payload carries its own time, and how it is written."""

    model_config = ConfigDict(extra="forbid")

    path: str
    format: TimeFormat

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        parse_path(path)
        return path


class MqttDevice(BrokerSettings, DeviceReporting, IdentityKeys):
    """Sensors that push JSON readings to a broker, on one or more topic filters."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="unique device name, becomes the device tag")
    topic: str | list[str] = Field(description="topic filter(s); {name} levels become tags")
    measurement: Name | None = None
    profile: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    fields: list[FieldSpec] = Field(default_factory=list)
    timestamp: TimestampSpec | None = None
    identity_fields: dict[str, str] = Field(
        default_factory=dict,
        description='where the payload states who its sensor is: { firmware = "dev.fw", serial = "dev.sn" }',
    )
    max_payload: ByteSize = 256 * 1024
    session_expiry: Duration = 7 * 86400.0
    max_inflight: int = Field(default=DEFAULT_INFLIGHT, ge=1, le=65535)
    stale_after: Duration = Field(
        default=300.0, gt=0, description="a sensor that sent nothing this long shows as not alive"
    )
    _school: str | None = PrivateAttr(default=None)

    @field_validator("identity_fields")
    @classmethod
    def _identity_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        for key, path in fields.items():
            if key not in KEYS:
                raise ValueError(
                    f"identity_fields: {key!r} is not an identity key; use vendor, model, firmware, "
                    "serial (or another of docs/schema.md's asset_info tags)"
                )
            parse_path(path)
        return fields

    @field_validator("topic")
    @classmethod
    def _topics(cls, topic: str | list[str]) -> str | list[str]:
        topics = [topic] if isinstance(topic, str) else topic
        if not topics:
            raise ValueError("give at least one topic filter")
        for pattern in topics:
            TopicPattern.parse(pattern)
        return topic

    @model_validator(mode="after")
    def _complete(self) -> MqttDevice:
        if not self.fields:
            raise ValueError(
                'no fields: add [[devices.mqtt.fields]] entries (field, path) or a profile = "..."'
            )
        if self.measurement is None:
            raise ValueError('no measurement: set measurement = "..." or use a profile')
        seen: set[str] = set()
        for spec in self.fields:
            if spec.field in seen:
                raise ValueError(f"field {spec.field!r} is defined twice")
            seen.add(spec.field)
        for pattern in self.patterns:
            clash = sorted(set(pattern.tag_names) & set(self.tags))
            if clash:
                raise ValueError(
                    f"topic {pattern.pattern!r} sets tag(s) {', '.join(clash)} that "
                    "tags = {...} sets too; keep one of them"
                )
        return self

    @property
    def interval(self) -> float | None:
        """Pushed, not polled: no interval."""
        return None

    @property
    def patterns(self) -> list[TopicPattern]:
        """The topic filters, parsed."""
        topics = [self.topic] if isinstance(self.topic, str) else self.topic
        return [TopicPattern.parse(t) for t in topics]

    @property
    def session_id(self) -> str:
        """The MQTT client id: stable across restarts so the broker keeps our session."""
        if self.client_id:
            return self.client_id
        return f"edge-{self._school}-{self.name}" if self._school else f"edge-{self.name}"

    def bind_agent(self, school: str, campus: str) -> None:
        """Learn the gateway's school code; the default client id is derived from it."""
        self._school = school

    def mapper(self) -> PayloadMapper:
        """The payload mapping this entry configures."""
        timestamp = None
        if self.timestamp is not None:
            timestamp = TimeRule(parse_path(self.timestamp.path), self.timestamp.format)
        # identity = false: the payloads' identity values are not even looked at.
        fields = self.identity_fields if self.identity else {}
        identity = [(key, parse_path(path)) for key, path in fields.items()]
        return PayloadMapper([spec.rule() for spec in self.fields], timestamp, identity)

    @property
    def asset_address(self) -> str:
        """The broker (never with credentials); each sensor adds its topic."""
        return self.address.url

    @property
    def pushed(self) -> bool:
        """The broker pushes its readings; nothing is polled."""
        return True

    def reporting(self) -> tuple[DeviceReporting, list[FieldSettings]]:
        """The device's report keys and each field's."""
        return self, [(f.field, f, f.type != "bool") for f in self.fields]

    def create(self) -> Listener:
        """A listener for this subscription."""
        return _LISTENER(self)

    def describe(self) -> str:
        """Broker, topics and what is read, for ``edge-agent check``."""
        topics = ", ".join(p.pattern for p in self.patterns)
        when = (
            f"time from {self.timestamp.path!r} ({self.timestamp.format})"
            if self.timestamp
            else "time of arrival"
        )
        return (
            f"mqtt {self.address.url} topic {topics}: {len(self.fields)} fields, {when}, "
            f"pushed (QoS 1, client id {self.session_id}) -> {self.measurement}"
        )


# The listener imports this model; the model names it, so the arrow runs one way.
_LISTENER = Factory[Listener]("drivers.mqtt.driver:MqttListener")
