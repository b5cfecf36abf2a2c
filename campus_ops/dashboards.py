"""``campus-ops dashboards``: the city's Grafana dashboards, built with grafana-foundation-sdk.

The dashboards in ``deploy/central/dashboards/`` are this module's output (a test holds the
committed files to it): edit the panels here, then run ``campus-ops dashboards`` to write
them again. Every query reads the schema's metric names (docs/schema.md) or the recording
rules of ``deploy/central/rules/recording.yml``; a test runs each one against a store filled
by a real agent and fails on a query that errors or returns nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from grafana_foundation_sdk.builders import dashboard, stat, table, timeseries
    from grafana_foundation_sdk.models.dashboard import DataSourceRef

HELP = "write the city's Grafana dashboards (deploy/central/dashboards/*.json)"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "deploy" / "central" / "dashboards"

Kind = Literal["stat", "timeseries", "table"]
SCHOOL = 'school=~"$school"'
CLASSROOM = 'school=~"$school",building=~"$building",room=~"$room"'
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
            Query("CO2", f"classroom_env_co2_ppm{{{CLASSROOM}}}", unit="ppm", legend="{{building}}-{{room}}"),
            Query(
                "Temperature",
                f"classroom_env_temperature_c{{{CLASSROOM}}}",
                unit="celsius",
                legend="{{building}}-{{room}}",
            ),
            Query(
                "Relative humidity",
                f"classroom_env_humidity_pct{{{CLASSROOM}}}",
                unit="percent",
                legend="{{building}}-{{room}}",
            ),
            Query(
                "PM2.5",
                f"classroom_env_pm25_ugm3{{{CLASSROOM}}}",
                unit="conµgm3",
                legend="{{building}}-{{room}}",
            ),
            Query(
                "Noise", f"classroom_env_noise_db{{{CLASSROOM}}}", unit="dB", legend="{{building}}-{{room}}"
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
                f"sum by (school, building) (energy_meter_power_total_w{{{SCHOOL}}})",
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
                f'{{__name__=~"energy_meter_voltage_l[123]_v",{SCHOOL}}}',
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
                f"topk(10, network_interface_in_bps{{{SCHOOL}}})",
                unit="bps",
                legend="{{device}} {{if_name}}",
            ),
            Query(
                "Port errors",
                f"network_interface_in_errors_ps{{{SCHOOL}}} + network_interface_out_errors_ps",
                unit="pps",
                legend="{{device}} {{if_name}}",
            ),
            Query(
                "Ports down per switch",
                "sum by (school, device) "
                f"(last_over_time(network_interface_oper_status{{{SCHOOL}}}[2m]) == bool 2)",
                "table",
            ),
            Query(
                "UPS battery charge",
                f"ups_battery_charge_pct{{{SCHOOL}}}",
                unit="percent",
                legend="{{device}}",
            ),
            Query("UPS load", f"ups_output_load_pct{{{SCHOOL}}}", unit="percent", legend="{{device}}"),
        ),
    ),
    Board(
        "campus-training-equipment",
        "Training equipment",
        "Use of the training-room machines, and alarms.",
        (
            Query("Running hours", f"training_machine_run_time_h{{{SCHOOL}}}", "table", "h"),
            Query(
                "Share of the last hour running",
                f"avg_over_time(training_machine_running{{{SCHOOL}}}[1h])",
                "table",
                "percentunit",
            ),
            Query("Machines in alarm", f"sum by (school) (training_machine_alarm{{{SCHOOL}}})", "stat"),
            Query(
                "Spindle load",
                f"training_machine_spindle_load_pct{{{SCHOOL}}}",
                unit="percent",
                legend="{{device}}",
            ),
        ),
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
            Query("Device state", f"edge_agent_device_up{{{SCHOOL}}}", "table"),
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


# The builders (the ``central`` extra) are imported where they build, so the queries above can
# be read without them: the console (campus_ops.console) shows some of these panels itself.


def _datasource() -> DataSourceRef:
    """Panels ask the data source the dashboard's ``datasource`` variable names (a Prometheus
    type data source pointing at VictoriaMetrics, or at vmauth with the operators' token)."""
    from grafana_foundation_sdk.models.dashboard import DataSourceRef

    return DataSourceRef(type_val="prometheus", uid="${datasource}")


def _panel(query: Query) -> stat.Panel | timeseries.Panel | table.Panel:
    from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
    from grafana_foundation_sdk.models.prometheus import PromQueryFormat

    target = prometheus.Dataquery().ref_id("A").expr(query.expr).legend_format(query.legend or "__auto")
    if query.kind == "table":
        target = target.instant().format(PromQueryFormat.TABLE)
    panel: stat.Panel | timeseries.Panel | table.Panel
    if query.kind == "stat":
        panel = stat.Panel()
    elif query.kind == "table":
        panel = table.Panel()
    else:
        panel = timeseries.Panel()
    return (
        panel.title(query.title)
        .datasource(_datasource())
        .unit(query.unit)
        .with_target(target)
        .height(8)
        .span(8 if query.kind == "stat" else 12)
    )


def build(board: Board) -> dashboard.Dashboard:
    """The dashboard's builder."""
    from grafana_foundation_sdk.builders import dashboard
    from grafana_foundation_sdk.models.dashboard import VariableRefresh

    built = (
        dashboard.Dashboard(board.title)
        .uid(board.uid)
        .description(board.description)
        .tags(["campus-edge-agent", "generated"])
        .refresh("1m")
        .time("now-6h", "now")
        .with_variable(dashboard.DatasourceVariable("datasource").label("Store").type("prometheus"))
    )
    for name in board.variables:
        label, series = VARIABLES[name]
        built = built.with_variable(
            dashboard.QueryVariable(name)
            .label(name.capitalize())
            .datasource(_datasource())
            .query(f"label_values({series}, {label})")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .multi(True)
            .include_all(True)
        )
    for query in board.panels:
        built = built.with_panel(_panel(query))
    return built


def render_all() -> dict[str, str]:
    """``{file name: JSON text}`` of every dashboard."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    encoder = JSONEncoder(sort_keys=True, indent=2)
    return {f"{board.uid}.json": encoder.encode(build(board).build()) + "\n" for board in BOARDS}


def queries() -> Iterator[tuple[str, Query]]:
    """Every panel's query, with the uid of its dashboard."""
    for board in BOARDS:
        for query in board.panels:
            yield board.uid, query


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``[--out DIR] [--check]``."""
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder to write to (default %(default)s)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the folder's files differ from what would be written",
    )


def run(args: argparse.Namespace) -> int:
    """Write (or with ``--check`` compare) every dashboard's JSON file."""
    out: Path = args.out
    rendered = render_all()
    if args.check:
        stale = [
            name
            for name, text in rendered.items()
            if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text
        ]
        for name in stale:
            print(f"campus-ops dashboards: {out / name} is not what the generator makes", file=sys.stderr)
        return 1 if stale else 0
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in rendered.items():
            (out / name).write_text(text, encoding="utf-8")
            print(out / name)
    except OSError as exc:
        print(f"campus-ops dashboards: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0
