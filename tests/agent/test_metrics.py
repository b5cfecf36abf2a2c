"""The per-device families written by hand read exactly as prometheus_client writes them."""

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from edge_agent.metrics import DEVICE_FAMILIES, EVENTS_HELP, PREFIX, device_metrics
from edge_agent.status import AgentStatus, DeviceStatus


def _status() -> AgentStatus:
    status = AgentStatus()
    status.devices["meter-1"] = DeviceStatus(
        "meter-1",
        "modbus",
        10.0,
        polls=5,
        failures=1,
        overruns=2,
        internal_errors=1,
        last_ok_ms=1_700_000_000_123,
        last_latency_s=0.0012,
        events=lambda: {"timeouts": 2, "requests": 7},
    )
    # Nothing a config allows needs escaping; the writer escapes anyway.
    status.devices['odd "name"\\'] = DeviceStatus('odd "name"\\', "snmp", 60.0)
    return status


class _Reference:
    """The same families through prometheus_client, as /metrics served them before."""

    def __init__(self, status: AgentStatus) -> None:
        self._status = status

    def collect(self) -> list[CounterMetricFamily | GaugeMetricFamily]:
        families: list[CounterMetricFamily | GaugeMetricFamily] = []
        for name, kind, doc, _ in DEVICE_FAMILIES:
            make = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            families.append(make(f"{PREFIX}_{name}", doc, labels=["device", "protocol"]))
        families.append(
            CounterMetricFamily(
                f"{PREFIX}_device_events", EVENTS_HELP, labels=["device", "protocol", "event"]
            )
        )
        up, polls, errors, overruns, internal, latency, last_ok, events = families
        for device in self._status.devices.values():
            key = [device.name, device.protocol]
            up.add_metric(key, 1.0 if device.up else 0.0)
            polls.add_metric(key, device.polls)
            errors.add_metric(key, device.failures)
            overruns.add_metric(key, device.overruns)
            internal.add_metric(key, device.internal_errors)
            latency.add_metric(key, device.last_latency_s)
            if device.last_ok_ms is not None:
                last_ok.add_metric(key, device.last_ok_ms / 1000)
            for event, count in device.events().items():
                events.add_metric([*key, event], count)
        return families


def _parsed(text: str) -> dict[str, tuple[str, str, set[tuple[str, tuple[tuple[str, str], ...], float]]]]:
    return {
        family.name: (
            family.type,
            family.documentation,
            {(s.name, tuple(sorted(s.labels.items())), s.value) for s in family.samples},
        )
        for family in text_string_to_metric_families(text)
    }


def test_device_families_match_prometheus_client() -> None:
    status = _status()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Reference(status))
    ours = _parsed("".join(device_metrics(status)))
    assert ours == _parsed(generate_latest(registry).decode())
    assert ours["edge_agent_device_polls"][0] == "counter"
    assert (
        "edge_agent_device_events_total",
        (("device", "meter-1"), ("event", "requests"), ("protocol", "modbus")),
        7.0,
    ) in ours["edge_agent_device_events"][2]
    assert any(dict(labels)["device"] == 'odd "name"\\' for _, labels, _ in ours["edge_agent_device_up"][2])
