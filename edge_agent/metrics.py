"""``/metrics``: the live status as Prometheus metrics, read at each scrape.

A collector over :class:`AgentStatus` rather than metric objects updated in the hot path:
the scheduler, pipeline and forwarder keep plain counters, and a scrape turns them into
metric families. Counters of this process start at zero at each start (Prometheus reads
that as a reset); the buffer's drop counters live on disk and survive restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import CollectorRegistry

from campus_core.clock import now_ms

from . import __version__
from .inforce import InForce
from .status import AgentStatus, DeviceStatus

PREFIX = "edge_agent"


class StatusCollector:
    """Turns the agent's status into metric families at every scrape."""

    def __init__(self, status: AgentStatus, in_force: InForce) -> None:
        self._status = status
        self._in_force = in_force

    def collect(self) -> Iterable[Metric]:
        """Every metric, freshly computed."""
        yield from self._agent()
        yield from self._buffer()
        yield from self._sinks()

    def _agent(self) -> Iterable[Metric]:
        status, agent = self._status, self._in_force.config.agent
        info = InfoMetricFamily(PREFIX, "the agent's version and identity")
        info.add_metric([], {"version": __version__, "school": agent.school, "campus": agent.campus})
        yield info
        yield _gauge(
            "start_time_seconds", "when this process started (Unix time)", value=status.started_ms / 1000
        )
        yield _gauge("uptime_seconds", "seconds since this process started", value=status.uptime_s())
        yield _counter("reloads", "configs applied on SIGHUP", value=status.reloads)
        yield _counter(
            "reload_failures",
            "reloads refused because the new config was invalid",
            value=status.reload_failures,
        )
        yield _counter("points_accepted", "points polled or received", value=status.points_accepted)
        yield _counter("points_buffered", "points committed to the disk buffer", value=status.points_buffered)
        yield _counter(
            "points_dropped",
            "points lost (buffer full or refusing writes) since start",
            value=status.points_dropped,
        )
        yield _counter("buffer_errors", "failed buffer writes", value=status.buffer_errors)
        yield from _config(status)

    def _buffer(self) -> Iterable[Metric]:
        stats = self._status.buffer
        if stats is None:
            return
        yield _gauge("buffer_points", "points on disk", value=stats.points)
        yield _gauge("buffer_bytes", "bytes the buffer takes on disk", value=stats.bytes)
        yield _gauge("buffer_batches", "batches on disk", value=stats.batches)
        now = now_ms()
        backlog = _gauge("sink_backlog_points", "points waiting for the sink", labels=["sink"])
        size = _gauge("sink_backlog_bytes", "bytes waiting for the sink", labels=["sink"])
        oldest = _gauge(
            "sink_oldest_age_seconds",
            "age of the oldest batch waiting for the sink (0 when none)",
            labels=["sink"],
        )
        for item in stats.backlog:
            backlog.add_metric([item.sink], item.points)
            size.add_metric([item.sink], item.bytes)
            oldest.add_metric([item.sink], max(0.0, (now - item.oldest_ms) / 1000) if item.oldest_ms else 0.0)
        dropped = _counter(
            "buffer_dropped_points",
            "points the full buffer dropped before the sink had them (kept on disk, survives restarts)",
            labels=["sink"],
        )
        for name, value in sorted(stats.counters.items()):
            kind, _, sink = name.partition(":")
            if kind == "dropped" and sink:
                dropped.add_metric([sink], value)
        yield from (backlog, size, oldest, dropped)

    def _sinks(self) -> Iterable[Metric]:
        labels = ["sink"]
        up = _gauge("sink_up", "1 unless the sink's last write failed", labels=labels)
        failing = _gauge(
            "sink_failing_seconds", "how long the sink has been failing (0 while it works)", labels=labels
        )
        sent = _counter("sink_sent_points", "points the store acknowledged", labels=labels)
        requests = _counter("sink_requests", "write requests acknowledged", labels=labels)
        failures = _counter("sink_failures", "write requests that failed", labels=labels)
        dead = _counter(
            "sink_dead_lettered_points", "points the store refused, kept in dead letters", labels=labels
        )
        throttled = _counter(
            "sink_throttled", "write requests the store answered 429 or 503, or not in time", labels=labels
        )
        concurrency = _gauge(
            "sink_concurrency",
            "requests the sink may have in flight now (below 1: the share of time it sends)",
            labels=labels,
        )
        now = now_ms()
        for sink in self._status.sinks.values():
            key = [sink.name]
            up.add_metric(key, 0.0 if sink.consecutive_failures else 1.0)
            failing.add_metric(key, sink.failing_for(now, self._status.started_ms))
            sent.add_metric(key, sink.sent_points)
            requests.add_metric(key, sink.sent_requests)
            failures.add_metric(key, sink.failures)
            dead.add_metric(key, sink.dead_points)
            throttled.add_metric(key, sink.throttled)
            concurrency.add_metric(key, sink.concurrency)
        yield from (up, failing, sent, requests, failures, dead, throttled, concurrency)


def _config(status: AgentStatus) -> Iterable[Metric]:
    """The config in force (its digest, the city's bundle in it) and the bundles refused."""
    bundle = status.bundle
    info = InfoMetricFamily(
        f"{PREFIX}_config",
        "the config in force: one SHA-256 over its files, "
        "and the city bundle's manifest SHA-256 (empty: none)",
    )
    info.add_metric([], {"config_sha256": status.config_sha256, "bundle_sha256": bundle.sha256 or ""})
    yield info
    yield _gauge(
        "config_version",
        "version of the city's bundle in force (0: the local config alone)",
        value=bundle.version,
    )
    refused = _counter(
        "config_refused", "city bundles refused, by reason (the running config stayed)", labels=["reason"]
    )
    for reason, count in sorted(bundle.refused.items()):
        refused.add_metric([reason], count)
    yield refused
    yield _counter(
        "config_fetch_failures",
        "fetches of the city's bundle that failed (server down, error, no answer in time)",
        value=bundle.fetch_failures,
    )


#: The per-device families: name, type, help, and the sample value of a device (None: no sample).
DEVICE_FAMILIES: tuple[tuple[str, str, str, Callable[[DeviceStatus], float | None]], ...] = (
    ("device_up", "gauge", "1 when the device answered its last poll", lambda d: 1.0 if d.up else 0.0),
    ("device_polls", "counter", "polls attempted", lambda d: d.polls),
    ("device_poll_errors", "counter", "polls that failed", lambda d: d.failures),
    ("device_overruns", "counter", "intervals skipped because a poll took longer", lambda d: d.overruns),
    (
        "device_internal_errors",
        "counter",
        "polls that failed on a bug in the driver (a traceback is logged)",
        lambda d: d.internal_errors,
    ),
    (
        "device_poll_latency_seconds",
        "gauge",
        "duration of the last successful poll",
        lambda d: d.last_latency_s,
    ),
    (
        "device_last_success_timestamp_seconds",
        "gauge",
        "when the device last answered (Unix time)",
        lambda d: None if d.last_ok_ms is None else d.last_ok_ms / 1000,
    ),
)
EVENTS_HELP = "what the driver counted: requests, timeouts, refused reads, rejected payloads..."


def device_metrics(status: AgentStatus) -> Iterator[str]:
    """The per-device families in the Prometheus text format (0.0.4), one family at a time.

    Written here rather than through prometheus_client's metric families: with a thousand
    devices these are some 20,000 samples per scrape, and building a sample object and a
    label dict for each cost the agent more CPU than polling a hundred meters did. Given
    family by family, the response never holds the whole 2.5 MB text at once.
    """
    devices = list(status.devices.values())
    # Labels in name order, as prometheus_client writes them.
    who = [f'device="{_escape(d.name)}"' for d in devices]
    protocol = [f'protocol="{_escape(d.protocol)}"' for d in devices]
    for name, kind, doc, value in DEVICE_FAMILIES:
        # As prometheus_client writes a counter in this format: the family named with _total.
        family = f"{PREFIX}_{name}_total" if kind == "counter" else f"{PREFIX}_{name}"
        lines = [f"# HELP {family} {doc}\n# TYPE {family} {kind}\n"]
        for device, device_label, protocol_label in zip(devices, who, protocol, strict=True):
            sample = value(device)
            if sample is not None:
                lines.append(f"{family}{{{device_label},{protocol_label}}} {float(sample)!r}\n")
        yield "".join(lines)
    family = f"{PREFIX}_device_events_total"
    lines = [f"# HELP {family} {EVENTS_HELP}\n# TYPE {family} counter\n"]
    for device, device_label, protocol_label in zip(devices, who, protocol, strict=True):
        for event, count in sorted(device.events().items()):
            labels = f'{device_label},event="{_escape(event)}",{protocol_label}'
            lines.append(f"{family}{{{labels}}} {float(count)!r}\n")
    yield "".join(lines)


def _escape(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def _gauge(
    name: str, doc: str, value: float | None = None, labels: list[str] | None = None
) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=value, labels=labels)


def _counter(
    name: str, doc: str, value: float | None = None, labels: list[str] | None = None
) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", doc, value=value, labels=labels)


def registry(status: AgentStatus, in_force: InForce) -> CollectorRegistry:
    """A registry with the agent's metrics and the process's own (memory, CPU, open files)."""
    result = CollectorRegistry(auto_describe=False)
    result.register(StatusCollector(status, in_force))
    ProcessCollector(registry=result)
    return result
