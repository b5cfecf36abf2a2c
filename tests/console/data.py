"""Points written the way gateways write them, for the console's HTTP tests."""

from __future__ import annotations

import time

from edge_agent import __version__
from tests.central.campus import write_lines
from tests.support.victoriametrics import VictoriaMetrics

#: Every field of the ``edge_agent`` measurement (docs/schema.md), at a healthy gateway's values.
HEALTHY = {
    "uptime_s": 3600,
    "devices": 2,
    "devices_ok": 2,
    "devices_failed": 0,
    "points_accepted": 1000,
    "points_dropped": 0,
    "points_sent": 1000,
    "points_dead_lettered": 0,
    "sink_failures": 0,
    "buffer_errors": 0,
    "reloads": 0,
    "buffer_points": 4,
    "buffer_bytes": 4096,
    "buffer_oldest_age_s": 0,
}


def _at(ago_s: float, step: int) -> int:
    return int((time.time() - ago_s - step * 10) * 1000)


def gateway(school: str, ago_s: float = 1, **fields: float) -> list[str]:
    """A gateway's self-metrics every 10 s for a minute, up to ``ago_s`` ago."""
    values = {**HEALTHY, **fields}
    body = ",".join(f"{name}={value:g}" for name, value in values.items())
    return [
        f"edge_agent,school={school},campus=main,version={__version__} {body} {_at(ago_s, step)}"
        for step in range(6)
    ]


def device(
    school: str, name: str, up: bool, building: str, room: str, kind: str, silent_s: float | None = None
) -> list[str]:
    """The agent's own points about one device (its liveness), for a minute. ``silent_s``: the
    age of its last reading (120 s for a device down, else 0)."""
    tags = f"school={school},campus=main,device={name},kind={kind},building={building},room={room}"
    silent = silent_s if silent_s is not None else (0 if up else 120)
    return [
        f"edge_agent_device,{tags} up={int(up)},alive={int(up)},consecutive_failures={0 if up else 12},"
        f"silent_s={silent:g},interval_s=10 {_at(1, step)}"
        for step in range(6)
    ]


def sensors(school: str, name: str, alive: dict[str, bool]) -> list[str]:
    """A device covering several sensors through a topic wildcard (building B, ``alive`` by
    room): its own point, its session up, and one point per sensor, for a minute."""
    tags = f"school={school},campus=main,device={name},kind=wireless-iaq"
    out = []
    for step in range(6):
        at = _at(1, step)
        out.append(
            f"edge_agent_device,{tags} up=1,alive=1,consecutive_failures=0,silent_s=20,interval_s=10 {at}"
        )
        out += [
            f"edge_agent_device,{tags},building=B,room={room} alive={up:d},silent_s={20 if up else 900} {at}"
            for room, up in alive.items()
        ]
    return out


def reading(
    school: str, name: str, measurement: str, building: str, room: str, ago_s: float = 1, **fields: float
) -> list[str]:
    """A device's readings for a minute up to ``ago_s`` ago."""
    tags = f"school={school},campus=main,device={name},building={building},room={room}"
    body = ",".join(f"{field}={value:g}" for field, value in fields.items())
    return [f"{measurement},{tags} {body} {_at(ago_s, step)}" for step in range(6)]


def assets() -> list[str]:
    """The asset register as two gateways wrote it: meter-1 upgraded from 1.2.3 to 1.3.0 an
    hour ago (its old series still in the window), a Chinese room, the gateway itself."""
    now = time.time()
    first, upgraded = now - 3 * 86400, now - 3600
    meter = "asset,school=sh-ok,campus=main,device=meter-1,building=B,room=plant-1,asset_id=EM-0042,"
    meter += "protocol=modbus,source=device,vendor=Eastron,model=SDM630"
    return [
        f"{meter},firmware=1.2.3,serial=E123 info=1,first_seen_s={first},last_seen_s={upgraded - 60} "
        f"{int((upgraded - 60) * 1000)}",
        f"{meter},firmware=1.3.0,serial=E123 info=1,first_seen_s={first},last_seen_s={now - 5} "
        f"{int((now - 5) * 1000)}",
        "edge_agent_event,school=sh-ok,campus=main,device=meter-1,room=plant-1,event=asset_changed,"
        f"what=firmware,old=1.2.3,new=1.3.0 changes=1 {int(upgraded * 1000)}",
        "asset,school=sh-down,campus=main,device=ups-1,room=配电房,protocol=snmp,source=device,"
        f"vendor=Simulated\\ Power,model=SP-3000,firmware=1.7,serial=UPS9 info=1,first_seen_s={first},"
        f"last_seen_s={now - 5} {int((now - 5) * 1000)}",
        f"asset,school=sh-ok,campus=main,device=@gateway,protocol=gateway,source=device,firmware=Debian,"
        f"kernel=6.1.0,agent=0.1.0 info=1,first_seen_s={first},last_seen_s={now - 5} {int((now - 5) * 1000)}",
    ]


def city(store: VictoriaMetrics) -> None:
    """Three gateways (ok, a sensor down, quiet for 10 minutes), their devices, an asset.

    sh-ok's meter reports on change and has had nothing new for 280 s: quiet, and up.
    sh-down's wireless bridge covers rooms 201 and 202; the sensor in 202 stopped sending.
    """
    lines = [
        *gateway("sh-ok"),
        *gateway("sh-down", devices_ok=1, devices_failed=1),
        *gateway("sh-quiet", ago_s=600),
        *device("sh-ok", "a301-iaq", True, "A", "301", "classroom-iaq"),
        *device("sh-ok", "meter-1", True, "B", "plant-1", "energy-meter-3ph", silent_s=280),
        *reading("sh-ok", "a301-iaq", "classroom_env", "A", "301", co2_ppm=812, temperature_c=22.5),
        *reading("sh-ok", "meter-1", "energy_meter", "B", "plant-1", ago_s=280, power_total_w=12500),
        *sensors("sh-down", "wireless-iaq", {"201": True, "202": False}),
        *reading("sh-down", "wireless-iaq", "classroom_env", "B", "201", co2_ppm=640),
        *reading("sh-down", "wireless-iaq", "classroom_env", "B", "202", ago_s=900, co2_ppm=700),
        *assets(),
    ]
    write_lines(store, lines)
