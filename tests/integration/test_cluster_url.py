"""The city cluster's write URL: a base URL with a path, ``.../insert/<accountID>/influx``.

A VictoriaMetrics cluster takes InfluxDB writes at ``vminsert:8480/insert/<accountID>/influx
/api/v2/write``; the sink is given the base and posts to ``<url>/api/v2/write`` under it.
Debian ships no vminsert, so the store here is a single VictoriaMetrics serving under that
path (``-http.pathPrefix``), behind a real vmauth that routes only that exact path: a point
arrives only if the sink kept the path, with or without a trailing slash on the URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campus_core.clock import now_ms
from campus_core.readings import Reading
from campus_core.sinks import SinkError
from edge_agent.buffer import encode_batch
from edge_agent.normalise import PointEncoder
from edge_agent.sinks.influxdb import InfluxDBSink
from edge_agent.sinks.influxdb_config import InfluxDBSink as SinkConfig
from tests.support.processes import wait_for
from tests.support.victoriametrics import VictoriaMetrics
from tests.support.vmauth import VMAuth

pytestmark = pytest.mark.integration

ACCOUNT = 42
PREFIX = f"/insert/{ACCOUNT}/influx"
TOKEN = "school-sh-031-token"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    vm = VictoriaMetrics(tmp_path / "vm", flags=(f"-http.pathPrefix={PREFIX}",))
    vm.url += PREFIX  # its /health and /api/v1/export are under the prefix too
    vm.start()
    yield vm
    vm.stop()


@pytest.fixture
def vmauth(tmp_path: Path, store: VictoriaMetrics) -> Iterator[VMAuth]:
    root = store.url.removesuffix(PREFIX)
    config = tmp_path / "vmauth.yml"
    # vmauth 1.79 appends the request's path to url_prefix: the store sees PREFIX/api/v2/write.
    config.write_text(
        f'users:\n  - bearer_token: "{TOKEN}"\n    url_map:\n'
        f'      - src_paths: ["{PREFIX}/api/v2/write"]\n        url_prefix: "{root}"\n'
    )
    proxy = VMAuth(config)
    proxy.start()
    yield proxy
    proxy.stop()


async def write(url: str, device: str, token: str = TOKEN, school: str = "sh-031") -> None:
    encoder = PointEncoder("cluster_check", {"school": school, "device": device})
    line = encoder.encode(Reading.of(device, now_ms(), (("value", 1.0),)))
    assert line is not None
    sink = InfluxDBSink(
        SinkConfig.model_validate({"url": url, "bucket": "city", "name": "city", "token": token})
    )
    try:
        await sink.write(encode_batch([line]), 1)
    finally:
        await sink.close()


async def test_the_sink_posts_under_a_base_url_with_a_path(store: VictoriaMetrics, vmauth: VMAuth) -> None:
    await write(f"{vmauth.url}{PREFIX}", "plain")
    await write(f"{vmauth.url}{PREFIX}/", "slash")

    def stored() -> list[str]:
        points = store.points('{__name__="cluster_check_value"}')
        return sorted(dict(labels)["device"] for _, labels in points)

    # A new series shows in the export a few seconds after its write, even after a flush, and
    # the two need not show together: wait for both.
    wait_for(lambda: len(stored()) >= 2, 15, what="both points in the store")
    assert stored() == ["plain", "slash"]


async def test_a_url_without_the_path_reaches_no_store(store: VictoriaMetrics, vmauth: VMAuth) -> None:
    # vmauth has no route for /api/v2/write alone: the path in the URL is what routes the write.
    with pytest.raises(SinkError):
        await write(vmauth.url, "no-path")
    assert store.points('{__name__="cluster_check_value"}') == {}


async def test_vmauth_in_front_of_the_cluster_adds_the_account_path_and_pins_the_school(
    tmp_path: Path, store: VictoriaMetrics
) -> None:
    # docs/scale.md's per-school user in front of vminsert: the gateway keeps a plain base URL,
    # vmauth's url_prefix carries /insert/<accountID>/influx and the school's extra_label.
    root = store.url.removesuffix(PREFIX)
    config = tmp_path / "vmauth-cluster.yml"
    config.write_text(
        'users:\n  - bearer_token: "sh-032-token"\n    url_map:\n'
        '      - src_paths: ["/api/v2/write", "/write"]\n'
        f'        url_prefix: "{root}{PREFIX}/?extra_label=school=sh-032"\n'
    )
    proxy = VMAuth(config)
    proxy.start()
    try:
        await write(proxy.url, "pinned", token="sh-032-token", school="sh-999")
    finally:
        proxy.stop()
    stored = wait_for(lambda: store.points('{__name__="cluster_check_value"}'), 15, what="the point")
    assert [dict(labels)["school"] for _, labels in stored] == ["sh-032"]
