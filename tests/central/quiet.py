"""A school whose devices report on change and have had nothing new to say for a while.

Every device of every kind the dashboards read changed at every 10-second poll for a few
minutes (:data:`BURST_S`), then held still: since then it has sent its fields only at its
heartbeats, 5 minutes apart plus a poll interval of a minute (:data:`EVERY_S`), the last one
:data:`LAST_AGO_S` ago. That is what a store holds of a steady campus, and what a store that
guesses a series' interval from its readings gets wrong. The gateway's own points
(``edge_agent``, ``edge_agent_device``) come every 30 s, as they do whatever the devices say.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

from edge_agent import __version__

SCHOOL = "sh-quiet"
#: Seconds between two readings of a steady device: the heartbeat and a poll interval.
EVERY_S = 6 * 60
#: The newest reading's age when the dashboards are asked.
LAST_AGO_S = 6 * 60 - 5
#: How far back the readings go, and how long they changed at every poll at first.
SPAN_S = 40 * 60
BURST_S = 4 * 60
#: The age of the first reading.
FIRST_AGO_S = LAST_AGO_S + SPAN_S

_TAGS = f"school={SCHOOL},campus=main"
#: (measurement and tags, fields) of one device each, as the agent writes them.
DEVICES = (
    (
        "classroom_env,device=classroom-1,kind=classroom-iaq,building=A,room=101",
        "co2_ppm=812,temperature_c=22.5,humidity_pct=45,pm25_ugm3=12,noise_db=48,light_lux=420",
    ),
    (
        "energy_meter,device=meter-1,kind=energy-meter-3ph,building=A,room=plant-1",
        "voltage_l1_v=230.1,voltage_l2_v=229.8,voltage_l3_v=230.4,power_total_w=4200,energy_import_kwh=1520",
    ),
    (
        "network_interface,device=switch-1,building=A,room=closet-1,if_index=3,if_name=Gi1/0/3,"
        "if_alias=A301,oper_state=up,admin_state=up",
        "in_bps=1200000,out_bps=800000,in_errors_ps=0,out_errors_ps=0,oper_status=1,admin_status=1",
    ),
    (
        "ups,device=ups-1,building=A,room=closet-1,battery_state=batteryNormal,power_source=normal",
        "battery_status=2,battery_charge_pct=100,output_source=3,output_load_pct=40",
    ),
    (
        "training_machine,device=machine-1,kind=training-machine,building=T,room=lab-1",
        "running=1,alarm=0,spindle_rpm=2400,spindle_load_pct=35,run_time_h=1210.5,alarm_code=0",
    ),
    (
        "hvac,device=ahu-1,kind=bacnet-ahu,building=A,room=plant-1,mode=Cooling",
        "supply_air_temp_c=14.2,fan_power_kw=3.1,fan_running=1,mode_code=3,alarm=0",
    ),
    (
        "hvac,device=vav-1,kind=bacnet-vav,building=A,room=101",
        "zone_temp_c=23.1,zone_setpoint_c=23,airflow_m3h=900,damper_pct=40,alarm=0",
    ),
)
_NAMES = ("classroom-1", "meter-1", "switch-1", "ups-1", "machine-1", "ahu-1", "vav-1")


def lines(now_s: float) -> list[str]:
    """The readings and the gateway's own points up to ``now_s``."""
    last_ms = int((now_s - LAST_AGO_S) * 1000)
    out = [_device_line(measurement, fields, at) for at in _times(last_ms) for measurement, fields in DEVICES]
    began_s = now_s - FIRST_AGO_S - 600  # the gateway ran before the readings began
    for at in range(int(began_s * 1000), int(now_s * 1000), 30_000):
        uptime = at / 1000 - began_s
        out.append(
            f"edge_agent,{_TAGS},version={__version__} uptime_s={uptime:.0f},devices=7,devices_ok=7,"
            f"devices_failed=0,points_sent={uptime:.0f},points_dropped=0,sink_failures=0,"
            f"buffer_points=3,buffer_oldest_age_s=0 {at}"
        )
        out += [
            f"edge_agent_device,{_TAGS},device={name} up=1,alive=1,silent_s=200,interval_s=60 {at}"
            for name in _NAMES
        ]
    # The asset register: each device's identity, read when the readings began (once a day).
    out += [
        f"asset,{_TAGS},device={name},protocol=modbus,vendor=Simulated,model=M1,firmware=1.0 "
        f"info=1,first_seen_s={began_s:.0f},last_seen_s={began_s:.0f} {int(began_s * 1000)}"
        for name in _NAMES
    ]
    return out


def _times(last_ms: int) -> list[int]:
    """When the readings were sent: every 10 s through the burst, then at the heartbeats."""
    first_ms = last_ms - SPAN_S * 1000
    burst = list(range(first_ms, first_ms + BURST_S * 1000, 10_000))
    return burst + sorted(range(last_ms, first_ms + BURST_S * 1000, -EVERY_S * 1000))


def _device_line(measurement: str, fields: str, at: int) -> str:
    name, _, tags = measurement.partition(",")
    return f"{name},{_TAGS},{tags} {fields} {at}"


def query_range(store_url: str, promql: str, start: float, end: float, step: float) -> list[list[float]]:
    """The timestamps of each series of a range query (seconds)."""
    params = urllib.parse.urlencode(
        {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}s", "nocache": "1"}
    )
    with urllib.request.urlopen(f"{store_url}/api/v1/query_range?{params}", timeout=30) as response:
        answer = json.loads(response.read())
    assert answer["status"] == "success", answer
    return [[float(t) for t, _ in series["values"]] for series in answer["data"]["result"]]


def wait_until_searchable(store_url: str) -> None:
    """VictoriaMetrics shows new series to searches within moments of a flush."""
    with urllib.request.urlopen(f"{store_url}/internal/force_flush", timeout=10):
        pass
    time.sleep(1)
