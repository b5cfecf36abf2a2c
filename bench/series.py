"""What one school sends the city: the demo campus against its own VictoriaMetrics.

``python -m bench.series [--seconds 300] [--warmup 30] [--on-change] [--keep DIR]`` runs the
demo campus (``configs/demo/agent.toml`` with every device reporting ``always``, or with
``--on-change`` every device reporting on change; the simulators with ``edge-agent demo``'s
arguments) on free loopback ports (bench/democampus.py), with ``edge-agent run`` as its own
process writing into a fresh VictoriaMetrics. After ``--warmup`` seconds (every device
connected) it counts, over ``--seconds``: the points the store acknowledged (the agent's
``sink_sent_points``), the rows the store took in (its
``vm_rows_inserted_total{type="influx"}``: one row per field), and the series the store
holds (``/api/v1/series``, by device). Then it stops the agent, flushes and merges the
store, and gives its data folder's size per stored row. docs/scale.md scales these figures
to the city.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

from edge_agent.demo import DEMO_CONFIG
from tests.support.mosquitto import Mosquitto
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import AgentProcess
from tests.support.victoriametrics import VictoriaMetrics

from .democampus import DemoPorts, agent_config
from .measure import simulators


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode("utf-8"))


def _metric(text: str, name: str) -> float:
    """The sum of every sample of ``name`` (with any labels) in Prometheus text."""
    pattern = re.compile(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return sum(float(match.group(2)) for match in pattern.finditer(text))


def measure(work: Path, seconds: float, warmup: float, on_change: bool = False) -> dict[str, object]:
    """Run the demo school (``on_change``: every device reporting on change) and return its figures."""
    demo = DemoPorts.free()
    broker = Mosquitto(work)
    store = VictoriaMetrics(work / "store")
    ports = demo.mapping(broker.port, store.port, bacnet_agent=demo.bacnet_agents(1)[0])
    health = f"{LOOPBACK}:{free_port()}"
    config = work / "agent.toml"
    config.write_text(agent_config(DEMO_CONFIG.read_text(), ports, work / "agent", health, on_change))
    args = demo.simulator_arguments(broker.url)  # the demo's campus, on the free ports
    broker.start()
    store.start()
    agent = AgentProcess(config)
    try:
        with simulators(work, args):
            agent.start()
            time.sleep(warmup)
            sent0 = _metric(_get(f"http://{health}/metrics"), "edge_agent_sink_sent_points_total")
            rows0 = _metric(_get(f"{store.url}/metrics"), 'vm_rows_inserted_total{type="influx"}')
            start = time.monotonic()
            time.sleep(seconds)
            sent1 = _metric(_get(f"http://{health}/metrics"), "edge_agent_sink_sent_points_total")
            rows1 = _metric(_get(f"{store.url}/metrics"), 'vm_rows_inserted_total{type="influx"}')
            elapsed = time.monotonic() - start
            agent.stop()
        _get(f"{store.url}/internal/force_flush")
        query = urllib.parse.urlencode({"match[]": '{__name__=~".+"}'})
        series = json.loads(_get(f"{store.url}/api/v1/series?{query}"))["data"]
        by_device = Counter(s.get("device", f"(no device: {s['__name__'].split('_')[0]})") for s in series)
        names = Counter(s["__name__"] for s in series)
        _get(f"{store.url}/internal/force_merge")
        time.sleep(5)  # the merge runs in the background
        store_metrics = _get(f"{store.url}/metrics")
        stored_rows = _metric(store_metrics, 'vm_rows{type="storage/big"}') + _metric(
            store_metrics, 'vm_rows{type="storage/small"}'
        )
    finally:
        store.stop()
        broker.stop()
    data = _size(work / "store" / "data")
    index = _size(work / "store" / "indexdb")
    return {
        "seconds": round(elapsed, 1),
        "series": len(series),
        "metric_names": len(names),
        "series_by_device": dict(sorted(by_device.items())),
        "points_per_s": round((sent1 - sent0) / elapsed, 2),
        "rows_per_s": round((rows1 - rows0) / elapsed, 2),
        "fields_per_point": round((rows1 - rows0) / max(1.0, sent1 - sent0), 2),
        "rows_stored": int(stored_rows),
        "data_bytes": data,
        "indexdb_bytes": index,
        "data_bytes_per_row": round(data / max(1.0, stored_rows), 3),
    }


def _size(path: Path) -> int:
    """Bytes in the files under ``path`` (as ``du -b`` counts them, without folders)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.series", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300, help="how long to count (default %(default)s)")
    parser.add_argument(
        "--warmup", type=float, default=30, help="seconds before counting (default %(default)s)"
    )
    parser.add_argument("--keep", type=Path, help="keep the run's folder here (default: a temporary one)")
    parser.add_argument(
        "--on-change",
        action="store_true",
        help='every device with report = "on_change" and its profile\'s deadbands (default: as configured)',
    )
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-series-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        figures = measure(work, args.seconds, args.warmup, args.on_change)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    json.dump(figures, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
