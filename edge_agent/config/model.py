"""The agent's config model: every section and key a technician may write, with defaults."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from campus_core.devices import DeviceConfig
from campus_core.names import Name
from campus_core.units import ByteSize, Duration
from drivers.bacnet.config import BacnetDevice
from drivers.modbus.config import ModbusDevice
from drivers.mqtt.config import MqttDevice
from drivers.opcua.config import OpcuaDevice
from drivers.snmp.config import SnmpDevice
from edge_agent.sinks.influxdb_config import InfluxDBSink
from edge_agent.sinks.mqtt_config import MqttSink

from .environment import ENV_PREFIX, NESTING, Overrides
from .fleet import FleetSection

if TYPE_CHECKING:
    from campus_core.sinks import Sink


class AgentSection(BaseModel):
    """``[agent]``: who this gateway is and how often it polls by default."""

    model_config = ConfigDict(extra="forbid")

    school: Name = Field(description="school code from the city data standard")
    campus: Name = "main"
    interval: Duration = 10.0
    state_dir: Path = Path("/var/lib/edge-agent")
    profiles_dir: Path | None = None
    identity_interval: Duration = Field(
        default=86400.0,
        ge=1.0,
        description="how often each device's identity is read again for the asset register "
        "(besides at every connect)",
    )


class BufferSection(BaseModel):
    """``[buffer]``: the on-disk store-and-forward buffer."""

    model_config = ConfigDict(extra="forbid")

    max_disk: ByteSize = 2 * 2**30
    sync: Literal["normal", "full"] = "normal"
    flush_interval: Duration = 1.0
    batch_points: int = Field(default=5000, ge=1, le=1_000_000)
    shutdown_grace: Duration = 5.0


class SinkConfig(Protocol):
    """What every ``[[sinks.<kind>]]`` entry offers the agent."""

    @property
    def name(self) -> str:
        """The sink's name: its buffer cursor, and how logs and metrics call it."""
        ...

    def create(self) -> Sink:
        """The sink itself."""
        ...

    def describe(self) -> str:
        """One line for ``edge-agent check``."""
        ...


class SinksSection(BaseModel):
    """``[sinks]``: where buffered readings go; none keeps them in the local buffer.

    A new kind of sink adds one list here; the agent finds sinks through :meth:`all`.
    """

    model_config = ConfigDict(extra="forbid")

    influxdb: list[InfluxDBSink] = Field(default_factory=list)
    mqtt: list[MqttSink] = Field(default_factory=list)

    def all(self) -> list[SinkConfig]:
        """Every configured sink, in config order."""
        sinks: list[SinkConfig] = []
        for kind in type(self).model_fields:
            sinks += getattr(self, kind)
        return sinks


class DevicesSection(BaseModel):
    """``[devices]``: the devices to poll or listen to, by protocol.

    A new protocol adds one list here; the agent finds its devices through :meth:`all`.
    """

    model_config = ConfigDict(extra="forbid")

    modbus: list[ModbusDevice] = Field(default_factory=list)
    mqtt: list[MqttDevice] = Field(default_factory=list)
    snmp: list[SnmpDevice] = Field(default_factory=list)
    opcua: list[OpcuaDevice] = Field(default_factory=list)
    bacnet: list[BacnetDevice] = Field(default_factory=list)

    def all(self) -> list[tuple[str, DeviceConfig]]:
        """Every configured device with its protocol name, in config order."""
        devices: list[tuple[str, DeviceConfig]] = []
        for protocol in type(self).model_fields:
            devices += [(protocol, device) for device in getattr(self, protocol)]
        return devices


class LogSection(BaseModel):
    """``[log]``: how the agent logs; "auto" is readable on a terminal and JSON for journald."""

    model_config = ConfigDict(extra="forbid")

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "console", "json"] = "auto"


class HealthSection(BaseModel):
    """``[health]``: the HTTP listener (``/metrics``, ``/healthz``) and the agent's own metrics."""

    model_config = ConfigDict(extra="forbid")

    listen: str = Field(default="127.0.0.1:9273", description='"host:port"; "" turns the listener off')
    sink_down_after: Duration = Field(default=300.0, description="/healthz says 503 past this outage")
    self_metrics: bool = Field(default=True, description="write the edge_agent measurement")

    @field_validator("listen")
    @classmethod
    def _host_port(cls, listen: str) -> str:
        if listen:
            split_listen(listen)
        return listen


def split_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:9273"`` or ``"[::1]:9273"`` -> (host, port); ValueError naming the form."""
    host, sep, port = listen.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError('must be "host:port", e.g. "127.0.0.1:9273" or "[::1]:9273" ("" turns it off)')
    return host, int(port)


class AgentConfig(BaseSettings):
    """The whole config: agent.toml, its conf.d drop-ins, then ``EDGE_AGENT_*`` variables.

    The loader hands the merged files (with the city's bundle and the profiles) as the
    settings' init values; pydantic-settings lays the variables over them
    (:mod:`edge_agent.config.environment`).
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=NESTING, case_sensitive=False, extra="forbid"
    )

    agent: AgentSection
    buffer: BufferSection = Field(default_factory=BufferSection)
    sinks: SinksSection = Field(default_factory=SinksSection)
    devices: DevicesSection = Field(default_factory=DevicesSection)
    log: LogSection = Field(default_factory=LogSection)
    health: HealthSection = Field(default_factory=HealthSection)
    fleet: FleetSection | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> AgentConfig:
        seen: set[str] = set()
        for _, device in self.devices.all():
            if device.name in seen:
                raise ValueError(f"device name {device.name!r} is used twice; names must be unique")
            seen.add(device.name)
        sink_names: set[str] = set()
        for sink in self.sinks.all():
            if sink.name in sink_names:
                raise ValueError(f'sink name {sink.name!r} is used twice; set name = "..." on one')
            sink_names.add(sink.name)
        return self

    @model_validator(mode="after")
    def _bind_identity(self) -> AgentConfig:
        """MQTT entries derive client ids and topics from the school (``bind_agent``)."""
        for device in self.devices.mqtt:
            device.bind_agent(self.agent.school, self.agent.campus)
        for sink in self.sinks.mqtt:
            sink.bind_agent(self.agent.school, self.agent.campus)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Variables over the files: the first source wins. No .env file, no secrets folder:
        secrets come from the files a config names (``token_file``...)."""
        return (Overrides(settings_cls, env_settings), init_settings)

    def interval_of(self, device: DeviceConfig) -> float:
        """A device's poll interval: its own, or the agent's."""
        return device.interval or self.agent.interval
