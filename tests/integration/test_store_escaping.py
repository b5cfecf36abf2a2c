"""What the store really keeps of awkward tag values, through the agent's sink."""

from __future__ import annotations

import pytest

from campus_core.clock import now_ms
from campus_core.readings import Reading
from edge_agent.buffer import encode_batch
from edge_agent.normalise import PointEncoder
from edge_agent.sinks.influxdb import InfluxDBSink
from edge_agent.sinks.influxdb_config import InfluxDBSink as SinkConfig
from tests.support.processes import wait_for
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = pytest.mark.integration

AWKWARD = [
    "room 101",
    "a,b",
    "x=y",
    'say "hi"',
    "back\\slash",
    "ends\\",
    "二楼 实训室",
    "line\nbreak",
    "tab\there",
    "it's",
]


async def test_awkward_tag_values_arrive_as_written(store: VictoriaMetrics) -> None:
    now = now_ms()
    lines = []
    for i, value in enumerate(AWKWARD):
        encoder = PointEncoder("escape_check", {"device": f"d{i}", "room": value})
        line = encoder.encode(Reading.of(f"d{i}", now, (("v", float(i)),)))
        assert line is not None
        lines.append(line)
    sink = InfluxDBSink(SinkConfig(url=store.url, bucket="b", name="s"))
    await sink.write(encode_batch(lines), len(lines))
    await sink.close()

    def rooms() -> dict[str, str]:
        series = store.points("escape_check_v")
        return {dict(labels)["device"]: dict(labels)["room"] for (_, labels) in series}

    wait_for(lambda: len(rooms()) == len(AWKWARD), 15, what="all points in the store")
    assert rooms() == {f"d{i}": value.replace("\n", "\\n") for i, value in enumerate(AWKWARD)}
