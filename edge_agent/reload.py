"""What a reload (SIGHUP) changes: the running config against the new one, part by part.

Only what changed is restarted: a device whose settings (its own, its profile's, its
effective interval, the school and campus it tags, the contents of its secret files) are
the same keeps polling with its connection and counters. Sinks whose settings changed get
the forwarder restarted. What the agent cannot change while running (where the buffer
lives and how it is written, the set of sink names that the buffer keeps cursors for)
waits for the next restart, and the agent says so.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from campus_core.devices import DeviceConfig

from .config import AgentConfig

#: Buffer keys the running agent applies at once; the others shape the open buffer.
LIVE_BUFFER_KEYS = frozenset({"shutdown_grace"})


@dataclass(frozen=True)
class Applied:
    """The config in force, with the signatures of its devices and sinks taken when it was applied.

    Taken then, because a secret file may have changed since: comparing the file now with
    itself would miss a rotated token.
    """

    config: AgentConfig
    devices: dict[str, tuple[Any, ...]]
    sinks: list[tuple[Any, ...]]

    @classmethod
    def of(cls, config: AgentConfig) -> Applied:
        """Signatures of ``config`` as its files are now."""
        return cls(config, _device_signatures(config), [sink_signature(s) for s in config.sinks.all()])


@dataclass
class ReloadPlan:
    """The difference between two configs, and the config to run with afterwards."""

    applied: Applied
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    sinks_changed: bool = False
    log_changed: bool = False
    listen_changed: bool = False
    #: Keys whose new value waits for a restart (the running value stays in force).
    needs_restart: list[str] = field(default_factory=list)

    @property
    def effective(self) -> AgentConfig:
        """The config to run with: the new one, less what waits for a restart."""
        return self.applied.config


def plan(running: Applied, new: AgentConfig) -> ReloadPlan:
    """Compare the config in force with a freshly loaded one."""
    old = running.config
    needs_restart: list[str] = []
    agent = new.agent
    if new.agent.state_dir != old.agent.state_dir:
        needs_restart.append("agent.state_dir")
        agent = agent.model_copy(update={"state_dir": old.agent.state_dir})
    buffer = old.buffer.model_copy(update={k: getattr(new.buffer, k) for k in LIVE_BUFFER_KEYS})
    needs_restart += [
        f"buffer.{k}"
        for k in type(old.buffer).model_fields
        if k not in LIVE_BUFFER_KEYS and getattr(old.buffer, k) != getattr(new.buffer, k)
    ]
    old_names = [str(s.name) for s in old.sinks.all()]
    new_names = [str(s.name) for s in new.sinks.all()]
    sinks, sink_signatures, sinks_changed = new.sinks, [sink_signature(s) for s in new.sinks.all()], False
    if sorted(old_names) != sorted(new_names):
        # The buffer holds one cursor per sink, set up when it opens.
        needs_restart.append(
            f"sinks (running: {', '.join(old_names) or 'none'}; configured: {', '.join(new_names) or 'none'})"
        )
        sinks, sink_signatures = old.sinks, running.sinks
    else:
        sinks_changed = running.sinks != sink_signatures
    effective = new.model_copy(update={"agent": agent, "buffer": buffer, "sinks": sinks})
    after = _device_signatures(effective)
    result = ReloadPlan(
        Applied(effective, after, sink_signatures),
        sinks_changed=sinks_changed,
        needs_restart=needs_restart,
        log_changed=old.log != new.log,
        listen_changed=old.health.listen != new.health.listen,
    )
    before = running.devices
    for name, signature in after.items():
        if name not in before:
            result.added.append(name)
        elif before[name] != signature:
            result.changed.append(name)
        else:
            result.unchanged.append(name)
    result.removed = [name for name in before if name not in after]
    return result


def _device_signatures(config: AgentConfig) -> dict[str, tuple[Any, ...]]:
    return {
        device.name: device_signature(config, protocol, device) for protocol, device in config.devices.all()
    }


def device_signature(config: AgentConfig, protocol: str, device: DeviceConfig) -> tuple[Any, ...]:
    """Everything that shapes a device's poller and its points; equal means nothing to restart."""
    agent = config.agent
    return (protocol, _settings(device), config.interval_of(device), agent.school, agent.campus)


def sink_signature(sink: object) -> tuple[Any, ...]:
    """Everything that shapes a sink, including what its token file holds now."""
    return (type(sink).__name__, _settings(sink))


def _settings(model: object) -> tuple[Any, ...]:
    if not isinstance(model, BaseModel):
        return (model,)
    # The model itself, not a dump of it: it is kept anyway, and equal models compare equal
    # field by field (SecretStr by its secret value). A dump per device would double the
    # memory the config takes.
    secrets = tuple(
        (name, _digest(value))
        for name, value in sorted(vars(model).items())
        if name.endswith("_file") and isinstance(value, Path)
    )
    return (model, secrets)


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.errno}"
