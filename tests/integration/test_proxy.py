"""A school behind a proxy: the store's writes and the city's bundles through a real tinyproxy.

The sink and ``[fleet]`` take ``proxy = "http://host:port"``; without it they follow the
service's environment (``HTTPS_PROXY``/``HTTP_PROXY``, and ``NO_PROXY`` for hosts reached
directly), as aiohttp reads it.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from campus_core.clock import now_ms
from campus_core.sinks import SinkUnreachable
from campus_ops.bundle import tarball
from edge_agent.bundle.fetch import FetchError, fetch
from edge_agent.sinks.influxdb import InfluxDBSink
from edge_agent.sinks.influxdb_config import InfluxDBSink as SinkConfig
from tests.bundle.helpers import DEVICE, CityKey, bundle_files
from tests.support.bundleserver import BundleServer
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import wait_for
from tests.support.tinyproxy import TinyProxy
from tests.support.tlsca import TestCA
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = pytest.mark.integration

LINE = f"proxied,device=d v=1.0 {now_ms()}"


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[TinyProxy]:
    server = TinyProxy(tmp_path / "proxy")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


async def test_the_sink_writes_through_the_configured_proxy(
    proxy: TinyProxy, store: VictoriaMetrics, no_proxy_environment: pytest.MonkeyPatch
) -> None:
    sink = InfluxDBSink(SinkConfig(url=store.url, bucket="b", name="s", proxy=proxy.url))
    try:
        await sink.write(gzip.compress(LINE.encode()), 1)
    finally:
        await sink.close()
    assert proxy.requests() == [f"POST {store.url}/api/v2/write?org=&bucket=b&precision=ms"]
    wait_for(lambda: store.points("proxied_v") != {}, 10, what="the point in the store")


async def test_the_environment_names_the_proxy_and_no_proxy_the_exceptions(
    proxy: TinyProxy, store: VictoriaMetrics, no_proxy_environment: pytest.MonkeyPatch
) -> None:
    no_proxy_environment.setenv("HTTP_PROXY", proxy.url)
    sink = InfluxDBSink(SinkConfig(url=store.url, bucket="b", name="s"))
    try:
        await sink.write(gzip.compress(LINE.encode()), 1)
        assert len(proxy.requests()) == 1
        no_proxy_environment.setenv("NO_PROXY", LOOPBACK)
        await sink.close()  # a new session reads the environment again
        await sink.write(gzip.compress(LINE.encode()), 1)
        assert len(proxy.requests()) == 1  # reached directly
    finally:
        await sink.close()


async def test_a_proxy_that_is_down_is_named(no_proxy_environment: pytest.MonkeyPatch) -> None:
    dead = f"http://{LOOPBACK}:{free_port()}"
    sink = InfluxDBSink(SinkConfig(url="http://store.example:8428", bucket="b", name="s", proxy=dead))
    try:
        with pytest.raises(SinkUnreachable, match="cannot reach the proxy"):
            await sink.write(gzip.compress(LINE.encode()), 1)
    finally:
        await sink.close()


async def test_a_bundle_comes_through_the_proxy_by_connect(
    proxy: TinyProxy, tmp_path: Path, no_proxy_environment: pytest.MonkeyPatch
) -> None:
    ca = TestCA(tmp_path / "ca")
    server = BundleServer(ca)
    try:
        files = bundle_files(
            {"conf.d/city.toml": DEVICE.format(name="c-1", port=5020)}, CityKey(tmp_path), version=1
        )
        server.serve(tarball(files))
        fetched = await fetch(server.url, None, within=5, tls_ca=ca.cert, proxy=proxy.url)
        assert fetched.files == files
        port = server.url.split(":")[2].split("/")[0]
        assert proxy.requests() == [f"CONNECT {LOOPBACK}:{port}"]  # TLS end to end, through it

        no_proxy_environment.setenv("HTTPS_PROXY", proxy.url)  # the service's environment
        assert (await fetch(server.url, None, within=5, tls_ca=ca.cert)).files == files
        assert len(proxy.requests()) == 2
    finally:
        server.close()
    with pytest.raises(FetchError, match="cannot reach the proxy"):
        await fetch(server.url, None, within=5, tls_ca=ca.cert, proxy=f"http://{LOOPBACK}:{free_port()}")
