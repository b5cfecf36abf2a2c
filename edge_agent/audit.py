"""The audit trail: which config files were in force, with their SHA-256, and what changed.

Every config load (start) and reload logs the files read with their SHA-256 and a
summary of what changed, and writes the same event to the store as an
``edge_agent_event`` point (tags ``event`` and ``config_sha256``), so central ops can tell
which config every gateway ran at any time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import structlog

from campus_core.clock import now_ms
from campus_core.readings import Reading

from . import __version__
from .bundle import VerifiedBundle
from .config import AgentConfig
from .normalise import PointEncoder

log = structlog.get_logger("edge_agent.audit")

MEASUREMENT = "edge_agent_event"
#: The pipeline's encoder key for these points (never a device name).
EVENT_KEY = "@edge_agent_event"


def digest(files: Mapping[Path, str]) -> str:
    """One SHA-256 over every file's path and SHA-256: the config as a whole."""
    lines = "".join(f"{path}\t{sha}\n" for path, sha in sorted((str(p), s) for p, s in files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


class AuditTrail:
    """Logs config events and hands them to the pipeline as ``edge_agent_event`` points."""

    def __init__(self, encoders: dict[str, PointEncoder], accept: Callable[[list[Reading]], None]) -> None:
        self._encoders = encoders
        self._accept = accept

    def record(
        self,
        event: str,
        config: AgentConfig,
        files: Mapping[Path, str],
        added: Sequence[str] = (),
        removed: Sequence[str] = (),
        changed: Sequence[str] = (),
        bundle: VerifiedBundle | None = None,
    ) -> str:
        """Log ``event`` (start, reload, bundle) with the files in force, and write it to the store.

        Returns the config's digest. ``bundle`` is the city's bundle that is part of it.
        """
        sha = digest(files)
        log.info(
            "config in force",
            audit_event=event,
            config_sha256=sha,
            files={str(path): file_sha for path, file_sha in files.items()},
            devices=len(config.devices.all()),
            sinks=len(config.sinks.all()),
            added=list(added),
            removed=list(removed),
            changed=list(changed),
            bundle_version=bundle.manifest.version if bundle else None,
            bundle_sha256=bundle.sha256 if bundle else None,
        )
        self._encoders[EVENT_KEY] = PointEncoder(
            MEASUREMENT,
            {
                "school": config.agent.school,
                "campus": config.agent.campus,
                "version": __version__,
            },
        )
        fields = (
            ("files", float(len(files))),
            ("devices", float(len(config.devices.all()))),
            ("sinks", float(len(config.sinks.all()))),
            ("added", float(len(added))),
            ("removed", float(len(removed))),
            ("changed", float(len(changed))),
            ("bundle_version", float(bundle.manifest.version if bundle else 0)),
        )
        self._accept([Reading.of(EVENT_KEY, now_ms(), fields, (("config_sha256", sha), ("event", event)))])
        return sha

    def bundle_refused(
        self, reason: str, message: str, version: int | None, sha256: str | None, source: str
    ) -> None:
        """A city bundle refused: logged as an error and written to the store, so the city's
        security centre sees it (the running config stays, its digest with it)."""
        log.error(
            "city bundle refused; the running config stays in force",
            audit_event="bundle_refused",
            reason=reason,
            problem=message,
            bundle_version=version,
            bundle_sha256=sha256,
            url=source,
        )
        if EVENT_KEY not in self._encoders:
            return  # no config was recorded yet: nothing to tag the point with
        fields = (("bundle_version", float(version or 0)),)
        tags = (("event", "bundle_refused"), ("reason", reason))
        self._accept([Reading.of(EVENT_KEY, now_ms(), fields, tags)])

    def refused(self, path: Path | None, problems: Sequence[str]) -> None:
        """A reload refused: logged for the audit; the running config (and its digest) stays."""
        log.warning(
            "config change refused", audit_event="reload_refused", config=str(path), problems=list(problems)
        )
