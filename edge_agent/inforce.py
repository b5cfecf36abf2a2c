"""The config the running agent is using, shared by every part that reads it.

Health, /metrics, the agent's own points and the city-bundle puller read the config at
each use rather than keeping a copy, so a SIGHUP or a bundle that the agent applies
reaches them without being told. Only the agent changes it (:meth:`InForce.take`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .bundle import VerifiedBundle
from .config import AgentConfig, LoadedConfig


@dataclass
class InForce:
    """The config in force, the files it was read from, and the city's bundle that is part of it."""

    config: AgentConfig
    files: dict[Path, str]
    bundle: VerifiedBundle | None
    #: What a reload reads: the main config file (conf.d/ beside it comes along).
    path: Path | None

    @classmethod
    def of(cls, loaded: LoadedConfig, path: Path | None = None) -> InForce:
        """What a freshly loaded config puts in force; ``path`` defaults to its first file."""
        return cls(loaded.config, loaded.files, loaded.bundle, path or next(iter(loaded.files), None))

    def take(self, loaded: LoadedConfig, effective: AgentConfig) -> None:
        """A new config is in force: ``effective`` is ``loaded.config`` with what needs a restart kept."""
        self.config, self.files, self.bundle = effective, loaded.files, loaded.bundle
