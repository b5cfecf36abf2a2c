"""A real agent polling a simulated campus of every kind the central side reads, into a store;
and points written the way gateways write them."""

from __future__ import annotations

import contextlib
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.support.agentconfig import agent_toml
from tests.support.processes import AgentProcess, SimulatedCampus
from tests.support.victoriametrics import VictoriaMetrics


@contextlib.contextmanager
def agent_on_campus(workdir: Path, store_url: str, report: str = "on_change") -> Iterator[AgentProcess]:
    """A classroom, a meter, a training machine, a switch, a UPS, an air-handling unit and a VAV
    box, polled every second by school ``sh-test``'s agent writing to ``store_url``, every
    device with ``report`` (on change: the profiles' deadbands, a 5-minute heartbeat); both
    stopped on the way out."""
    campus = SimulatedCampus(
        workdir / "campus",
        classrooms=1,
        meters=1,
        machines=1,
        switches=1,
        ups=1,
        bacnet_ahus=1,
        bacnet_vavs=1,
    )
    campus.start()
    config = workdir / "agent" / "agent.toml"
    config.parent.mkdir(parents=True)
    sink = f'[[sinks.influxdb]]\nurl = "{store_url}"\nbucket = "campus"\ntoken = "t"\nretry_max = "2s"\n'
    config.write_text(agent_toml([reporting(campus.config(), report)], sink=sink, interval="1s"))
    agent = AgentProcess(config)
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()
        campus.stop()


#: The header of each device's table in an agent.toml (``[[devices.modbus]]``).
_DEVICE_TABLE = re.compile(r"^\[\[devices\.\w+\]\]$", re.MULTILINE)


def reporting(devices: str, report: str = "on_change") -> str:
    """The ``[[devices.*]]`` tables of an agent.toml, each with ``report`` set."""
    return _DEVICE_TABLE.sub(rf'\g<0>\nreport = "{report}"', devices)


def write_lines(store: VictoriaMetrics, lines: list[str]) -> None:
    """Line protocol into the store (as a gateway writes it), searchable once this returns."""
    request = urllib.request.Request(
        f"{store.url}/api/v2/write?precision=ms", data="\n".join(lines).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 204
    store.points("edge_agent_uptime_s")  # a flush: what was written is searchable at once
