"""The agent.toml the tests run the agent with: state in ./state, fast flushes, debug logs."""

from __future__ import annotations


def agent_toml(
    devices: list[str],
    *,
    listen: str = "",
    sink: str = "",
    interval: str = "300ms",
    extra: str = "",
    log_format: str = "json",
) -> str:
    """An agent.toml for tests: state in ./state, fast flushes, debug logs."""
    return f"""
[agent]
school = "sh-test"
campus = "main"
interval = "{interval}"
state_dir = "state"

[buffer]
flush_interval = "200ms"
shutdown_grace = "5s"

[log]
level = "debug"
format = "{log_format}"

[health]
listen = "{listen}"
{extra}
{sink}
{chr(10).join(devices)}
"""
