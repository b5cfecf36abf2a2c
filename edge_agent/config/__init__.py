"""The agent's config: models, units, loading and the errors a technician sees."""

from .errors import ConfigError, Problem
from .loader import LoadedConfig, load
from .model import AgentConfig, InfluxDBSink

__all__ = ["AgentConfig", "ConfigError", "InfluxDBSink", "LoadedConfig", "Problem", "load"]
