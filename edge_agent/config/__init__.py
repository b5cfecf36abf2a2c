"""The agent's config: models, units, loading and the errors a technician sees."""

from edge_agent.sinks.influxdb_config import InfluxDBSink

from .errors import ConfigError, Problem
from .loader import LoadedConfig, load
from .model import AgentConfig

__all__ = ["AgentConfig", "ConfigError", "InfluxDBSink", "LoadedConfig", "Problem", "load"]
