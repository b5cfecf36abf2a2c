"""Report on change, measured: the demo school sending every field, and sending what changed.

``python -m bench.report_on_change [--minutes 30] [--warmup 30] [--keep DIR]`` runs the
demo campus (configs/demo/agent.toml, the simulators with ``edge-agent demo``'s arguments,
so its simulated clock starts at 09:40 on a school day) on free loopback ports, polled by
two agents at once, each writing into its own VictoriaMetrics:

- ``always``: ``edge-agent run`` on the demo config with ``report = "always"`` on every
  device (every field of every poll);
- ``on_change``: the same config with ``report = "on_change"`` on every device, so each
  profile's deadbands and the 5-minute heartbeat decide what is sent. It runs through
  bench/recording_agent.py, which writes down every reading its change filters were given:
  the value the device gave at each poll, sent or not.

Both agents poll the same simulated devices over the same half hour, so the two runs see
the same signals. After ``--warmup`` seconds it counts, over ``--minutes``:

1. per measurement, the points and fields (one row each in the store) per second each
   store holds, read back from the store (``/api/v1/export``); a point is one series'
   fields at one timestamp;
2. each store's bytes on disk as VictoriaMetrics counts them (``vm_data_size_bytes``)
   after ``/internal/force_flush``, and again after ``/internal/force_merge``;
3. for every reading the on-change agent took (warm-up included), field by field, the
   difference between the value polled and what the on-change store answers at that
   reading's timestamp with ``last_over_time(...[heartbeat + interval])`` (one instant
   query per poll of each device), against the field's deadband (an absolute one, or
   its percentage of the value the store answers, which is the value last sent).

Figures and tables go to bench/results/report-on-change.json; bench/README.md has the last
run. A figure of time, not a judgement: the box is shared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campus_core.clock import now_ms
from campus_core.reporting import FieldRule, ReportPolicy
from campus_core.reporting import policy as report_policy
from edge_agent.config import load
from edge_agent.demo import DEMO_CONFIG
from edge_agent.selfmetrics import DEVICE_MEASUREMENT, MEASUREMENT
from tests.support.mosquitto import Mosquitto
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import AgentProcess
from tests.support.victoriametrics import VictoriaMetrics

from .democampus import DemoPorts, agent_config
from .measure import simulators

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
#: The issue's goal: at least this many times fewer points for these measurements.
GOAL = 5.0
GOAL_MEASUREMENTS = ("classroom_env", "energy_meter")
#: The agent's own points, sent every agent interval whatever the devices do: the gateway's
#: counters, and a liveness point per device (and per sensor behind a wildcard).
SELF = (MEASUREMENT, DEVICE_MEASUREMENT)
#: Instant queries in flight against the on-change store while the differences are checked.
QUERIES_IN_FLIGHT = 4
#: A difference this small (relative) is the store's float round trip, not a deadband's work.
ROUND_TRIP = 1e-9

Reading = tuple[str, int, str | None, list[list[str]], list[str], list[Any]]


class RecordingAgent(AgentProcess):
    """The agent as bench/recording_agent.py runs it: every reading its change filters saw, on file."""

    def __init__(self, config: Path, truth: Path) -> None:
        super().__init__(config)
        self.truth = truth

    def start(self) -> None:
        """Start it (it logs JSON to agent.log beside its config)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.recording_agent", str(self.config), str(self.truth)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )


@dataclass
class Side:
    """One of the two agents, its config and its store."""

    name: str
    config: Path
    store: VictoriaMetrics
    agent: AgentProcess
    health: str


@dataclass
class Flow:
    """What one measurement put into a store over the counted span."""

    points: int = 0
    fields: int = 0


@dataclass
class Disk:
    """A store's own figures of what it holds."""

    rows: int
    data_bytes: int
    indexdb_bytes: int
    merged_data_bytes: int

    @property
    def bytes_per_row(self) -> float:
        """Data bytes (after the flush) per stored row."""
        return self.data_bytes / max(1, self.rows)


@dataclass
class Worst:
    """The largest difference between a field's polled value and what the store answered."""

    bound: str
    compared: int = 0
    unanswered: int = 0
    #: Pushed readings stamped before the series' first point: a subscription's first
    #: notifications carry the source's own (earlier) timestamps, the initial read the
    #: agent's; the store has nothing yet at those instants.
    early: int = 0
    difference: float = 0.0
    ratio: float = 0.0
    where: str = ""


@dataclass
class Result:
    """Everything one run measured."""

    seconds: float
    flows: dict[str, dict[str, Flow]]
    disk: dict[str, Disk]
    worst: dict[tuple[str, str], Worst]
    load: tuple[float, float]
    counters: dict[str, float] = field(default_factory=dict)
    #: Per agent, its warnings and errors by event: a device that failed or reconnected is
    #: sent whole again, which the figures would otherwise hide.
    warnings: dict[str, dict[str, int]] = field(default_factory=dict)


def _get(url: str, timeout: float = 60) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode("utf-8"))


def _metric(text: str, name: str, labels: str = "") -> float:
    """The sum of every sample of ``name`` whose labels contain ``labels``, in Prometheus text."""
    pattern = re.compile(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return sum(float(m.group(2)) for m in pattern.finditer(text) if labels in (m.group(1) or ""))


def run(work: Path, minutes: float, warmup: float) -> Result:
    """Both agents over the same campus for ``warmup`` + ``minutes``; what they put in their stores."""
    demo = DemoPorts.free()
    broker = Mosquitto(work)
    sides: list[Side] = []
    for (name, on_change), local in zip(
        (("always", False), ("on_change", True)), demo.bacnet_agents(2), strict=True
    ):
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        store = VictoriaMetrics(folder / "store")
        health = f"{LOOPBACK}:{free_port()}"
        config = folder / "agent.toml"
        ports = demo.mapping(broker.port, store.port, bacnet_agent=local)
        demo_config = DEMO_CONFIG.read_text()
        config.write_text(
            agent_config(demo_config, ports, folder / "state", health, on_change, f"bench-{name}")
        )
        agent = RecordingAgent(config, folder / "truth.jsonl") if on_change else AgentProcess(config)
        sides.append(Side(name, config, store, agent, health))
    broker.start()
    for side in sides:
        side.store.start()
    load_before = os.getloadavg()[0]
    try:
        with simulators(work, demo.simulator_arguments(broker.url)):
            for side in sides:
                side.agent.start()
            time.sleep(warmup)
            start_ms = now_ms()
            time.sleep(minutes * 60)
            end_ms = now_ms()
            counters = _counters(sides[1])
            for side in sides:
                side.agent.stop(timeout=60)
        load_after = os.getloadavg()[0]
        changes = sides[1]
        assert isinstance(changes.agent, RecordingAgent)
        names = Names.of(changes.config)
        for reading in _truth(changes.agent.truth):
            if reading[2]:
                names.learn(reading[2])  # a measurement a driver names per reading (an SNMP table's)
        stored = {side.name: side.store.export('{__name__=~".+"}') for side in sides}
        flows = {name: _flows(series, start_ms, end_ms, names) for name, series in stored.items()}
        disk = {side.name: _disk(side.store) for side in sides}
        worst = _deviations(changes.store, stored[changes.name], changes.agent.truth, changes.config, names)
    finally:
        for side in sides:
            if side.agent.running():
                side.agent.kill()
            side.store.stop()
        broker.stop()
    since = datetime.fromtimestamp(start_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    warnings = {side.name: _warnings(side.agent.log_text(), since) for side in sides}
    return Result(
        (end_ms - start_ms) / 1000, flows, disk, worst, (load_before, load_after), counters, warnings
    )


def _warnings(log: str, since: str) -> dict[str, int]:
    """How often the agent logged each warning or error from ``since`` (ISO 8601, UTC) on, by
    event: what it said at start (a community written inline, running as root) is the demo's."""
    found: dict[str, int] = defaultdict(int)
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(entry, dict)
            and entry.get("level") in ("warning", "error", "critical")
            and str(entry.get("timestamp", "")) >= since
        ):
            found[str(entry.get("event"))] += 1
    return dict(found)


def _counters(side: Side) -> dict[str, float]:
    """The on-change agent's own count of the fields it sent and held back (a cross-check)."""
    text = _get(f"http://{side.health}/metrics")
    return {
        "fields_sent": _metric(text, "edge_agent_device_fields_sent_total"),
        "fields_suppressed": _metric(text, "edge_agent_device_fields_suppressed_total"),
    }


@dataclass
class Names:
    """Which measurement a stored metric belongs to (``<measurement>_<field>`` in the store)."""

    measurements: list[str]

    @classmethod
    def of(cls, config: Path) -> Names:
        """The measurements the config's devices write (each device's, and the agent's own)."""
        found = set(SELF)
        for _, device in load(config).config.devices.all():
            found.add(device.measurement or device.name)
        return cls(sorted(found, key=len, reverse=True))

    def split(self, metric: str) -> tuple[str, str]:
        """``(measurement, field)`` of a stored metric name (else its first word and the rest)."""
        for measurement in self.measurements:
            if metric.startswith(measurement + "_"):
                return measurement, metric[len(measurement) + 1 :]
        first, _, rest = metric.partition("_")
        return first, rest

    def learn(self, measurement: str) -> None:
        """A measurement a reading named (longest names first, so prefixes do not steal them)."""
        if measurement not in self.measurements:
            self.measurements.append(measurement)
            self.measurements.sort(key=len, reverse=True)


def _row(measurement: str, labels: dict[str, str]) -> str:
    """The table's row for a series: its measurement, and its device kind where it has one
    (the agent's own points are one row each, whatever device they speak of)."""
    kind = labels.get("kind")
    return f"{measurement} ({kind})" if kind and measurement not in SELF else measurement


def _flows(stored: list[dict[str, Any]], start_ms: int, end_ms: int, names: Names) -> dict[str, Flow]:
    """Points and fields per row of a store's series with timestamps in [start_ms, end_ms)."""
    fields: dict[str, int] = defaultdict(int)
    points: dict[str, set[tuple[frozenset[tuple[str, str]], int]]] = defaultdict(set)
    for series in stored:
        labels = dict(series["metric"])
        measurement, _ = names.split(labels.pop("__name__"))
        row = _row(measurement, labels)
        identity = frozenset(labels.items())
        for ts in series["timestamps"]:
            if start_ms <= ts < end_ms:
                fields[row] += 1
                points[row].add((identity, ts))
    return {row: Flow(len(points[row]), fields[row]) for row in sorted(fields)}


def _disk(store: VictoriaMetrics) -> Disk:
    """The store's rows and bytes after a flush, and its data bytes after a merge."""
    _get(f"{store.url}/internal/force_flush")
    time.sleep(1)
    text = _get(f"{store.url}/metrics")
    rows = _metric(text, "vm_rows", 'type="storage/')
    data = _metric(text, "vm_data_size_bytes", 'type="storage/')
    index = _metric(text, "vm_data_size_bytes", 'type="indexdb"')
    _get(f"{store.url}/internal/force_merge")
    # The merge runs in the background: wait until the store says none is left.
    deadline = time.monotonic() + 60
    while True:
        time.sleep(2)
        text = _get(f"{store.url}/metrics")
        if _metric(text, "vm_active_merges") == 0 or time.monotonic() > deadline:
            break
    merged = _metric(text, "vm_data_size_bytes", 'type="storage/')
    return Disk(int(rows), int(data), int(index), int(merged))


def _truth(path: Path) -> Iterator[Reading]:
    """The readings the on-change agent's filters were given, as bench/recording_agent.py wrote them."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.endswith("\n"):  # a line cut by the agent's stop is not a reading
                device, at, measurement, tags, names, values = json.loads(line)
                yield device, at, measurement, tags, names, values


SeriesKey = tuple[str, str, tuple[tuple[str, str | None], ...]]


@dataclass
class _Device:
    """What the check needs of one configured device."""

    measurement: str
    policy: ReportPolicy | None
    window_ms: int
    #: Per measurement, the tag keys its readings carry themselves (an SNMP table's row).
    poll_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Per series (measurement, field, poll tags), the timestamp of its first stored point.
    first_ms: dict[SeriesKey, int] = field(default_factory=dict)

    def key(self, measurement: str, name: str, tags: dict[str, str]) -> SeriesKey:
        """A series of this device, as a reading and a stored series both name it."""
        return measurement, name, tuple((k, tags.get(k)) for k in self.poll_tags.get(measurement, ()))


def _devices(config: Path) -> dict[str, _Device]:
    """Each device's measurement, report policy and ``last_over_time`` window (heartbeat + interval)."""
    loaded = load(config).config
    out = {}
    for _, device in loaded.devices.all():
        rules = report_policy(*device.reporting())
        heartbeats = (
            [rules.default.heartbeat_ms, *(r.heartbeat_ms for r in rules.fields.values())] if rules else []
        )
        window = max(heartbeats, default=300_000) + int(loaded.interval_of(device) * 1000)
        out[device.name] = _Device(device.measurement or device.name, rules, window)
    return out


def _deviations(
    store: VictoriaMetrics, stored: list[dict[str, Any]], truth: Path, config: Path, names: Names
) -> dict[tuple[str, str], Worst]:
    """Per (row, field): the largest difference between a polled value and the store's answer."""
    devices = _devices(config)
    instants: dict[tuple[str, int], list[Reading]] = defaultdict(list)
    for reading in _truth(truth):
        device, at, measurement, tags, _, _ = reading
        known = devices[device]
        measurement = measurement or known.measurement
        keys = known.poll_tags.get(measurement, ())
        known.poll_tags[measurement] = tuple(sorted({*keys, *(k for k, _ in tags)}))
        instants[(device, at)].append(reading)
    for series in stored:
        labels = dict(series["metric"])
        owner = devices.get(labels.get("device", ""))
        if owner is not None and series["timestamps"]:
            measurement, name = names.split(labels["__name__"])
            key = owner.key(measurement, name, labels)
            first = min(series["timestamps"])
            owner.first_ms[key] = min(owner.first_ms.get(key, first), first)
    worst: dict[tuple[str, str], Worst] = {}
    with ThreadPoolExecutor(QUERIES_IN_FLIGHT) as pool:
        answers = pool.map(lambda key: _answer(store, key[0], key[1], devices[key[0]].window_ms), instants)
        for (device, at), answer in zip(instants, answers, strict=True):
            _compare(devices[device], instants[(device, at)], answer, names, worst)
    return dict(sorted(worst.items()))


def _answer(store: VictoriaMetrics, device: str, at: int, window_ms: int) -> list[dict[str, Any]]:
    """What the store answers for every series of ``device`` at ``at`` (ms): the value last sent."""
    query = urllib.parse.urlencode(
        {
            "query": f'last_over_time({{device="{device}"}}[{window_ms}ms])',
            "time": f"{at // 1000}.{at % 1000:03d}",  # the exact millisecond, as the store keeps it
            "nocache": "1",
        }
    )
    body = json.loads(_get(f"{store.url}/api/v1/query?{query}"))
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _compare(
    device: _Device,
    readings: list[Reading],
    answer: list[dict[str, Any]],
    names: Names,
    worst: dict[tuple[str, str], Worst],
) -> None:
    """Fold one instant's readings, against the store's answer at that instant, into ``worst``."""
    answered: dict[SeriesKey, tuple[float, dict[str, str]]] = {}
    for series in answer:
        labels = dict(series["metric"])
        measurement, name = names.split(labels["__name__"])
        answered[device.key(measurement, name, labels)] = (float(series["value"][1]), labels)
    for dev, at, named, tags, fields, values in readings:
        measurement = named or device.measurement
        poll = dict(tags)
        for name, value in zip(fields, values, strict=True):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue  # the encoder sends no NaN: there is nothing to compare
            rule = device.policy.rule(name) if device.policy else FieldRule(False, 0)
            key = device.key(measurement, name, poll)
            found = answered.get(key)
            if found is None:
                row = next((r for r, f in worst if f == name and r.startswith(measurement)), measurement)
                entry = worst.setdefault((row, name), Worst(_bound(rule)))
                if at < device.first_ms.get(key, at + 1):
                    entry.early += 1
                else:
                    entry.unanswered += 1
                    entry.where = f"{dev} at {at}: polled {value}, store nothing"
                continue
            entry = worst.setdefault((_row(measurement, found[1]), name), Worst(_bound(rule)))
            entry.compared += 1
            sent = found[0]
            difference = abs(float(value) - sent)
            if difference <= ROUND_TRIP * max(1.0, abs(sent)):
                difference = 0.0
            limit = abs(sent) * rule.deadband_pct / 100 if rule.deadband_pct is not None else rule.deadband
            ratio = difference / limit if limit else (math.inf if difference else 0.0)
            if ratio > entry.ratio or (ratio == entry.ratio and difference > entry.difference):
                entry.difference, entry.ratio = difference, ratio
                entry.where = f"{dev} at {at}: polled {value}, store {sent}"


EVERY = "0 (every change)"


def _bound(rule: FieldRule) -> str:
    """A field's deadband as the table shows it."""
    if rule.deadband_pct is not None:
        return f"{rule.deadband_pct:g} %"
    return f"{rule.deadband:g}" if rule.deadband else EVERY


#: A ratio this far past 1 is the float arithmetic of "moved past the deadband", not a miss.
OVER = 1 + 1e-9


def _within(w: Worst) -> bool:
    return w.ratio <= OVER and not w.unanswered


def figures(result: Result) -> dict[str, float]:
    """The run's figures by name (bench/results/report-on-change.json, and the smoke test)."""
    out: dict[str, float] = {"seconds": result.seconds}
    for side, flows in result.flows.items():
        everything, data = _sum(flows.values()), _sum(f for row, f in flows.items() if row not in SELF)
        out[f"{side}.points_per_s"] = everything.points / result.seconds
        out[f"{side}.fields_per_s"] = everything.fields / result.seconds
        out[f"{side}.device_points_per_s"] = data.points / result.seconds
        out[f"{side}.device_fields_per_s"] = data.fields / result.seconds
        disk = result.disk[side]
        out[f"{side}.store_rows"] = disk.rows
        out[f"{side}.store_data_bytes"] = disk.data_bytes
        out[f"{side}.store_indexdb_bytes"] = disk.indexdb_bytes
        out[f"{side}.store_data_bytes_merged"] = disk.merged_data_bytes
    for measurement in GOAL_MEASUREMENTS:
        always, changes = (_total(result.flows.get(s, {}), measurement) for s in ("always", "on_change"))
        out[f"{measurement}.points_fewer_by"] = always.points / max(1, changes.points)
        out[f"{measurement}.fields_fewer_by"] = always.fields / max(1, changes.fields)
    compared = [w for w in result.worst.values() if w.compared]
    out["deadband.fields_checked"] = len(compared)
    out["deadband.instants_compared"] = sum(w.compared for w in compared)
    out["deadband.instants_unanswered"] = sum(w.unanswered for w in result.worst.values())
    out["deadband.instants_before_first_point"] = sum(w.early for w in result.worst.values())
    out["deadband.largest_ratio"] = max((w.ratio for w in compared if w.bound != EVERY), default=0.0)
    out["deadband.fields_over"] = sum(1 for w in result.worst.values() if not _within(w))
    return out


def _sum(flows: Iterable[Flow]) -> Flow:
    total = Flow()
    for flow in flows:
        total.points += flow.points
        total.fields += flow.fields
    return total


def _total(flows: dict[str, Flow], measurement: str) -> Flow:
    """A measurement's flow over all its device kinds."""
    return _sum(f for row, f in flows.items() if row == measurement or row.startswith(measurement + " ("))


def tables(result: Result) -> list[str]:
    """The run as Markdown tables: the flows, the stores, the differences against the deadbands."""
    s = result.seconds
    always, changes = result.flows["always"], result.flows["on_change"]
    out = [
        f"counted over {s:.0f} s; load average {result.load[0]:.2f} before, {result.load[1]:.2f} after",
        "",
        "| measurement | points/s always | points/s on change | fewer by | fields/s always "
        "| fields/s on change | fewer by |",
        "|---|---|---|---|---|---|---|",
    ]
    rows: list[tuple[str, Flow, Flow]] = []
    names = sorted(set(always) | set(changes))
    for row in names:
        rows.append((row, always.get(row, Flow()), changes.get(row, Flow())))
        measurement = row.split(" (")[0]
        kinds = [r for r in names if r.startswith(measurement + " (")]
        if len(kinds) > 1 and row == kinds[-1]:
            rows.append(
                (f"{measurement}, all kinds", _total(always, measurement), _total(changes, measurement))
            )
    devices = [r for r in names if r not in SELF]
    rows.append(
        (
            "devices' data (all but the agent's own)",
            _sum(always[r] for r in devices if r in always),
            _sum(changes[r] for r in devices if r in changes),
        )
    )
    rows.append(("total", _sum(always.values()), _sum(changes.values())))
    for row, a, c in rows:
        out.append(
            f"| {row} | {a.points / s:.2f} | {c.points / s:.2f} | {_fewer(a.points, c.points)} "
            f"| {a.fields / s:.1f} | {c.fields / s:.1f} | {_fewer(a.fields, c.fields)} |"
        )
    out += [
        "",
        "| store | rows | data bytes after flush | bytes a row | indexdb bytes | data bytes after merge |",
        "|---|---|---|---|---|---|",
    ]
    for side, disk in result.disk.items():
        out.append(
            f"| {side} | {disk.rows:,} | {disk.data_bytes:,} | {disk.bytes_per_row:.2f} "
            f"| {disk.indexdb_bytes:,} | {disk.merged_data_bytes:,} |"
        )
    if result.counters:
        sent, held = result.counters["fields_sent"], result.counters["fields_suppressed"]
        out += ["", f"the on-change agent's own count: {sent:,.0f} fields sent, {held:,.0f} held back"]
    for side, events in result.warnings.items():
        said = ", ".join(f"{event} ({n})" for event, n in sorted(events.items())) or "none"
        out.append(f"{side} agent's warnings: {said}")
    out += [
        "",
        "| measurement | field | deadband | instants | largest difference | of the deadband | where |",
        "|---|---|---|---|---|---|---|",
    ]
    for (row, name), w in result.worst.items():
        ratio = "-" if w.bound == EVERY else f"{w.ratio:.2f}"
        notes = [f"{w.unanswered} unanswered"] if w.unanswered else []
        notes += [f"{w.early} before the first point"] if w.early else []
        extra = f" ({', '.join(notes)})" if notes else ""
        out.append(
            f"| {row} | {name} | {w.bound} | {w.compared}{extra} | {w.difference:.4g} | {ratio} "
            f"| {'' if _within(w) else w.where} |"
        )
    return out


def _fewer(before: int, after: int) -> str:
    return f"{before / after:.1f}x" if after else "-"


def verdict(result: Result) -> list[str]:
    """Whether the issue's goal (5x fewer points) and the deadband bound were met."""
    values = figures(result)
    out = []
    for measurement in GOAL_MEASUREMENTS:
        points, fields = values[f"{measurement}.points_fewer_by"], values[f"{measurement}.fields_fewer_by"]
        met = "met" if points >= GOAL else "NOT met"
        fewer = f"{points:.1f}x fewer points (>= {GOAL:g}x: {met}), {fields:.1f}x fewer fields"
        out.append(f"goal: {measurement} {fewer}")
    over = int(values["deadband.fields_over"])
    out.append(
        f"bound: largest difference {values['deadband.largest_ratio']:.2f} of the deadband over "
        f"{int(values['deadband.instants_compared']):,} comparisons; "
        + ("met" if not over else f"NOT met ({over} fields over or unanswered)")
    )
    return out


def measure(minutes: float = 30, warmup: float = 30, keep: Path | None = None) -> dict[str, float]:
    """One run; prints its tables and writes bench/results/report-on-change[-quick].json."""
    work = keep or Path(tempfile.mkdtemp(prefix="bench-on-change-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = run(work, minutes, warmup)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join([*tables(result), "", *verdict(result)]))
    values = figures(result)
    RESULTS.mkdir(exist_ok=True)
    name = "report-on-change.json" if minutes >= 5 else "report-on-change-quick.json"
    (RESULTS / name).write_text(
        json.dumps({"figures": values, "tables": tables(result), "verdict": verdict(result)}, indent=1) + "\n"
    )
    return values


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.report_on_change", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--minutes", type=float, default=30, help="how long to count (default %(default)s)")
    parser.add_argument(
        "--warmup", type=float, default=30, help="seconds before counting (default %(default)s)"
    )
    parser.add_argument("--keep", type=Path, help="keep the run's folder here (default: a temporary one)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    measure(args.minutes, args.warmup, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
