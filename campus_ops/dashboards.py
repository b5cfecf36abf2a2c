"""``campus-ops dashboards``: the city's Grafana dashboards, built with grafana-foundation-sdk.

The dashboards in ``deploy/central/dashboards/`` are this module's output (a test holds the
committed files to it): edit the panels in :mod:`campus_ops.boards`, then run
``campus-ops dashboards`` to write them again. A test runs each panel's query against a
store filled by a real agent and fails on a query that errors or returns nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .boards import BOARDS, VARIABLES, Board, Query, queries

if TYPE_CHECKING:
    from grafana_foundation_sdk.builders import dashboard, stat, table, timeseries
    from grafana_foundation_sdk.models.dashboard import DataSourceRef

HELP = "write the city's Grafana dashboards (deploy/central/dashboards/*.json)"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "deploy" / "central" / "dashboards"
#: The panels are :mod:`campus_ops.boards`; the console and the tests read them from here too.
__all__ = ["BOARDS", "DEFAULT_OUT", "HELP", "Board", "Query", "add_arguments", "queries", "render_all", "run"]

# The builders (the ``central`` extra) are imported where they build, so the queries can be
# read without them: the console (campus_ops.console) shows some of these panels itself.


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
