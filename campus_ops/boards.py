"""What the city's dashboards show: each panel's title and PromQL, board by board.

:mod:`campus_ops.dashboards` builds Grafana's JSON from these; the console
(:mod:`campus_ops.console`) asks some of the same queries, so the two never disagree. Every
query reads the schema's metric names (docs/schema.md) or the recording rules of
``deploy/central/rules/recording.yml``. Devices may report on change: every panel of a
device's readings asks for the value standing at each moment (:mod:`campus_ops.sparse`),
never a bare selector, which finds a steady device only near its heartbeats.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from .sparse import newest, now

Kind = Literal["stat", "timeseries", "table"]
SCHOOL = 'school=~"$school"'
CLASSROOM = 'school=~"$school",building=~"$building",room=~"$room"'
#: A device, and a row of its table: whose newest series speaks when a state tag changed.
DEVICE = "school, campus, device"
PORT = "school, campus, device, if_index"
#: Every device's identity series of the last 3 days (the agents repeat them daily); of a
#: device (or a sensor of a pushed one) the newest is its current identity (docs/schema.md).
REGISTER = f"last_over_time(asset_last_seen_s{{{SCHOOL}}}[3d])"
ASSET = "school, campus, device, building, room"


@dataclass(frozen=True)
class Query:
    """One panel: what it shows and the PromQL behind it."""

    title: str
    expr: str
    kind: Kind = "timeseries"
    unit: str = "short"
    legend: str = ""


@dataclass(frozen=True)
class Board:
    """One dashboard: its file name, title and panels, and the variables it filters by."""

    uid: str
    title: str
    description: str
    panels: tuple[Query, ...]
    variables: tuple[str, ...] = ("school",)


BOARDS = (
    Board(
        "campus-city-overview",
        "City overview",
        "Schools reporting, alerts firing, data freshness.",
        (
            Query(
                "Schools reporting",
                "count(group by (school) (last_over_time(edge_agent_uptime_s[5m])))",
                "stat",
            ),
            Query("Alerts firing", 'count(ALERTS{alertstate="firing"})', "stat"),
            Query(
                "Alerts firing by school",
                'count by (school, alertname, severity) (ALERTS{alertstate="firing"})',
                "table",
            ),
            Query(
                "Data freshness (age of each school's last gateway point)",
                "time() - max by (school) (timestamp(edge_agent_uptime_s))",
                "table",
                "s",
            ),
            Query(
                "Devices answering per school", "school:devices_up:sum", "timeseries", "short", "{{school}}"
            ),
        ),
        variables=(),
    ),
    Board(
        "campus-classroom-environment",
        "Classroom environment",
        "Air quality per school, building and room against GB/T 18883-2022.",
        (
            Query(
                "CO2",
                now(f"classroom_env_co2_ppm{{{CLASSROOM}}}"),
                unit="ppm",
                legend="{{building}}-{{room}}",
            ),
            Query(
                "Temperature",
                now(f"classroom_env_temperature_c{{{CLASSROOM}}}"),
                unit="celsius",
                legend="{{building}}-{{room}}",
            ),
            Query(
                "Relative humidity",
                now(f"classroom_env_humidity_pct{{{CLASSROOM}}}"),
                unit="percent",
                legend="{{building}}-{{room}}",
            ),
            Query(
                "PM2.5",
                now(f"classroom_env_pm25_ugm3{{{CLASSROOM}}}"),
                unit="conµgm3",
                legend="{{building}}-{{room}}",
            ),
            Query(
                "Noise",
                now(f"classroom_env_noise_db{{{CLASSROOM}}}"),
                unit="dB",
                legend="{{building}}-{{room}}",
            ),
            Query(
                "Share of classrooms above 1000 ppm CO2",
                f"school:classrooms_co2_above_limit:ratio{{{SCHOOL}}}",
                "stat",
                "percentunit",
            ),
        ),
        variables=("school", "building", "room"),
    ),
    Board(
        "campus-energy",
        "Energy",
        "Power and energy per school and building.",
        (
            Query(
                "Power per building",
                f"sum by (school, building) ({now(f'energy_meter_power_total_w{{{SCHOOL}}}')})",
                unit="watt",
                legend="{{school}} {{building}}",
            ),
            Query(
                "Energy over the last day per building",
                f"school_building:energy_import_kwh:increase1d{{{SCHOOL}}}",
                "table",
                "kwatth",
            ),
            Query(
                "Energy over the last day",
                f"sum(school:energy_import_kwh:increase1d{{{SCHOOL}}})",
                "stat",
                "kwatth",
            ),
            Query(
                "Phase voltages",
                now(f'{{__name__=~"energy_meter_voltage_l[123]_v",{SCHOOL}}}', names=True),
                unit="volt",
                legend="{{device}} {{__name__}}",
            ),
        ),
    ),
    Board(
        "campus-network",
        "Network",
        "Switch ports and UPSes.",
        (
            Query(
                "Busiest ports (received)",
                f"topk(10, {newest(f'network_interface_in_bps{{{SCHOOL}}}', PORT)})",
                unit="bps",
                legend="{{device}} {{if_name}}",
            ),
            Query(
                "Port errors",
                f"{newest(f'network_interface_in_errors_ps{{{SCHOOL}}}', PORT)}"
                f" + {now(f'network_interface_out_errors_ps{{{SCHOOL}}}')}",
                unit="pps",
                legend="{{device}} {{if_name}}",
            ),
            Query(
                "Ports down per switch",
                "sum by (school, device) "
                f"({newest(f'network_interface_oper_status{{{SCHOOL}}}', PORT)} == bool 2)",
                "table",
            ),
            Query(
                "UPS battery charge",
                newest(f"ups_battery_charge_pct{{{SCHOOL}}}", DEVICE),
                unit="percent",
                legend="{{device}}",
            ),
            Query(
                "UPS load",
                newest(f"ups_output_load_pct{{{SCHOOL}}}", DEVICE),
                unit="percent",
                legend="{{device}}",
            ),
        ),
    ),
    Board(
        "campus-training-equipment",
        "Training equipment",
        "Use of the training-room machines, and alarms.",
        (
            Query("Running hours", newest(f"training_machine_run_time_h{{{SCHOOL}}}", DEVICE), "table", "h"),
            Query(
                "Share of the last hour running",
                # Time-weighted: the running state standing each minute, of the machine's
                # newest series (machine_state is a tag), averaged over the hour.
                f"avg_over_time((max by ({DEVICE}) "
                f"({newest(f'training_machine_running{{{SCHOOL}}}', DEVICE)}))[1h:1m])",
                "table",
                "percentunit",
            ),
            Query(
                "Machines in alarm",
                f"sum by (school) ({newest(f'training_machine_alarm{{{SCHOOL}}}', DEVICE)})",
                "stat",
            ),
            Query(
                "Spindle load",
                newest(f"training_machine_spindle_load_pct{{{SCHOOL}}}", DEVICE),
                unit="percent",
                legend="{{device}}",
            ),
        ),
    ),
    Board(
        "campus-hvac",
        "HVAC",
        "Air-handling units, VAV boxes and fan coils over BACnet: zones against their setpoints, alarms.",
        (
            Query(
                "Zone temperature",
                newest(f"hvac_zone_temp_c{{{CLASSROOM}}}", DEVICE),
                unit="celsius",
                legend="{{building}}-{{room}}",
            ),
            Query(
                "Zone temperature above its setpoint",
                f"{newest(f'hvac_zone_temp_c{{{CLASSROOM}}}', DEVICE)}"
                f" - {now(f'hvac_zone_setpoint_c{{{CLASSROOM}}}')}",
                unit="celsius",
                legend="{{building}}-{{room}}",
            ),
            Query("Units in alarm", f"sum by (school) ({newest(f'hvac_alarm{{{SCHOOL}}}', DEVICE)})", "stat"),
            Query(
                "Supply air temperature",
                newest(f"hvac_supply_air_temp_c{{{SCHOOL}}}", DEVICE),
                unit="celsius",
                legend="{{device}}",
            ),
            Query(
                "Fan power per building",
                f"sum by (school, building) ({newest(f'hvac_fan_power_kw{{{SCHOOL}}}', DEVICE)})",
                unit="kwatt",
                legend="{{school}} {{building}}",
            ),
            Query(
                "Air-handling unit modes",
                newest(f"hvac_mode_code{{{SCHOOL}}}", DEVICE),
                "table",
            ),
        ),
        variables=("school", "building", "room"),
    ),
    Board(
        "campus-fleet-health",
        "Fleet health",
        "Every school's gateway: devices, buffer, losses.",
        (
            Query("Devices answering / configured", f"edge_agent_devices_ok{{{SCHOOL}}}", "table"),
            Query("Devices down", f"edge_agent_devices_failed{{{SCHOOL}}}", legend="{{school}}"),
            Query(
                "Points waiting on the gateway", f"edge_agent_buffer_points{{{SCHOOL}}}", legend="{{school}}"
            ),
            Query(
                "Oldest waiting point",
                f"edge_agent_buffer_oldest_age_s{{{SCHOOL}}}",
                unit="s",
                legend="{{school}}",
            ),
            Query(
                "Points dropped (since the agent started)",
                f"edge_agent_points_dropped{{{SCHOOL}}}",
                legend="{{school}}",
            ),
            Query(
                "Sink failures (since the agent started)",
                f"edge_agent_sink_failures{{{SCHOOL}}}",
                legend="{{school}}",
            ),
            Query("Agent versions", "count by (version) (edge_agent_uptime_s)", "table"),
            Query(
                "Device state (1 answering, quiet or not)",
                now(f"edge_agent_device_alive{{{SCHOOL}}}"),
                "table",
            ),
            Query(
                "Asset register (vendor, model, firmware, serial; last read)",
                f"({REGISTER} == on ({ASSET}) group_left max by ({ASSET}) ({REGISTER})) * 1000",
                "table",
                "dateTimeFromNow",
            ),
        ),
    ),
)

#: Template variables: the label they list and the series they list it from.
VARIABLES = {
    "school": ("school", "edge_agent_uptime_s"),
    "building": ("building", 'classroom_env_co2_ppm{school=~"$school"}'),
    "room": ("room", 'classroom_env_co2_ppm{school=~"$school",building=~"$building"}'),
}


def queries() -> Iterator[tuple[str, Query]]:
    """Every panel's query, with the uid of its dashboard."""
    for board in BOARDS:
        for query in board.panels:
            yield board.uid, query
