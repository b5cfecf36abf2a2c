"""``edge-agent status``: the running agent's ``/healthz`` report, for a person."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from campus_core.units import format_size

from .config.model import split_listen

TIMEOUT = 5.0


class Unreachable(Exception):
    """The health listener did not answer."""


def health_url(listen: str) -> str:
    """Where to ask: a wildcard listen address is asked on loopback."""
    host, port = split_listen(listen)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}/healthz" if ":" in host else f"http://{host}:{port}/healthz"


def fetch(listen: str) -> dict[str, Any]:
    """The report of the agent listening on ``listen``; 503 answers carry a report too."""
    url = health_url(listen)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        if exc.code == 503:
            return dict(json.load(exc))
        raise Unreachable(f"{url} answered {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise Unreachable(f"no answer from {url}: {exc}") from None


def render(body: dict[str, Any]) -> str:
    """The report as lines a technician reads at a glance."""
    verdict = "OK" if body["status"] == "ok" else "UNHEALTHY"
    lines = [
        f"edge-agent {body['version']} for {body['school']}/{body['campus']}: {verdict}, "
        f"up {_span(body['uptime_s'])}, {body['reloads']} reload(s)"
    ]
    lines += [f"  ! {problem}" for problem in body["problems"]]
    if body.get("last_reload_error"):
        lines.append(f"  last refused reload: {body['last_reload_error']}")
    devices = body["devices"]
    up = sum(1 for d in devices if d["up"])
    lines.append(f"devices: {up} of {len(devices)} answering")
    for d in devices:
        state = "up" if d["up"] else ("DOWN" if d["consecutive_failures"] else "waiting")
        line = f"  {d['name']:<20} {state:<7} polls {d['polls']:<7} errors {d['failures']:<5}"
        if d["up"]:
            line += f" latency {d['latency_s'] * 1000:.0f}ms"
        elif d["last_error"]:
            line += f" {d['last_error']}"
        lines.append(line)
    sinks = body["sinks"]
    lines.append(f"sinks: {len(sinks) or 'none (readings stay in the local buffer)'}")
    for s in sinks:
        state = "ok" if s["up"] else f"FAILING for {_span(s['failing_s'])}"
        waiting = "" if s["backlog_points"] is None else f", {s['backlog_points']} waiting"
        if s["oldest_age_s"]:
            waiting += f" (oldest {_span(s['oldest_age_s'])} old)"
        lines.append(
            f"  {s['name']:<20} {state}: sent {s['sent_points']}{waiting}, dead-lettered {s['dead_points']}"
        )
        if not s["up"] and s["last_error"]:
            lines.append(f"    last error: {s['last_error']}")
    buffer = body.get("buffer")
    if buffer:
        lines.append(
            f"buffer: {buffer['points']} points on disk ({format_size(buffer['bytes'])}), "
            f"{buffer['dropped']} dropped when full"
        )
    return "\n".join(lines)


def _span(seconds: float) -> str:
    """``3725`` -> ``1h02m``: the two largest units, as people read a duration."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
