"""TLS to the store: the right CA lets data through; a wrong one, a wrong name or an expired
certificate stops it with one clear reason, and nothing is lost meanwhile."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import ValidationError

from campus_core.clock import now_ms
from campus_core.readings import Reading
from campus_core.sinks import SinkError
from edge_agent.buffer import AsyncBuffer, DiskBuffer, encode_batch
from edge_agent.forwarder import Forwarder
from edge_agent.normalise import PointEncoder
from edge_agent.sinks.influxdb import InfluxDBSink
from edge_agent.sinks.influxdb_config import InfluxDBSink as SinkConfig
from edge_agent.status import AgentStatus, SinkStatus
from tests.support.accounting import books
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import AgentProcess, SimulatedCampus, until, wait_for
from tests.support.tlsca import TestCA
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = pytest.mark.integration


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "pki")


@pytest.fixture
def tls_store(tmp_path: Path, ca: TestCA) -> Iterator[VictoriaMetrics]:
    server = ca.issue("tsdb")
    store = VictoriaMetrics(tmp_path / "vm-tls", tls=(server.cert, server.key))
    store.start()
    yield store
    store.stop()


def body(device: str = "d") -> bytes:
    encoder = PointEncoder("tls_check", {"device": device})
    line = encoder.encode(Reading.of(device, now_ms(), (("v", 1.0),)))
    assert line is not None
    return encode_batch([line])


async def write(url: str, **tls: object) -> None:
    sink = InfluxDBSink(SinkConfig.model_validate({"url": url, "bucket": "b", "name": "city", **tls}))
    try:
        await sink.write(body(), 1)
    finally:
        await sink.close()


async def test_data_flows_with_the_city_ca(tls_store: VictoriaMetrics, ca: TestCA) -> None:
    await write(tls_store.url, tls_ca=str(ca.cert))
    wait_for(lambda: tls_store.points("tls_check_v"), 15, what="the point in the store")


async def test_an_unknown_ca_is_refused_with_a_clear_reason(tls_store: VictoriaMetrics) -> None:
    with pytest.raises(SinkError, match="signed by an unknown CA; set tls_ca"):
        await write(tls_store.url)  # the system CAs do not know the test CA


async def test_a_wrong_host_name_is_refused(tmp_path: Path, ca: TestCA) -> None:
    server = ca.issue("elsewhere", hosts=("tsdb.other.example",))
    store = VictoriaMetrics(tmp_path / "vm-name", tls=(server.cert, server.key))
    store.start()
    try:
        with pytest.raises(SinkError, match="not for this host name"):
            await write(store.url, tls_ca=str(ca.cert))
    finally:
        store.stop()


async def test_an_expired_certificate_is_refused(tmp_path: Path, ca: TestCA) -> None:
    server = ca.issue("old", expired=True)
    store = VictoriaMetrics(tmp_path / "vm-old", tls=(server.cert, server.key))
    store.start()
    try:
        with pytest.raises(SinkError, match="has expired"):
            await write(store.url, tls_ca=str(ca.cert))
    finally:
        store.stop()


async def test_insecure_skip_verify_works_but_says_so(
    tls_store: VictoriaMetrics, capsys: pytest.CaptureFixture[str]
) -> None:
    await write(tls_store.url, insecure_skip_verify=True)
    assert "TLS verification is OFF" in capsys.readouterr().out


async def test_mutual_tls_presents_the_client_certificate(ca: TestCA) -> None:
    server, client = ca.issue("tsdb"), ca.issue("gateway-sh031", client=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca.cert))
    context.load_cert_chain(server.cert, server.key)
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no connection
    received: list[bytes] = []

    async def accept(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/api/v2/write", accept)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port, ssl_context=context).start()
    url = f"https://{LOOPBACK}:{port}"
    try:
        with pytest.raises(SinkError, match=r"TLS handshake failed|cannot reach|refused client certificate"):
            await write(url, tls_ca=str(ca.cert))
        await write(url, tls_ca=str(ca.cert), tls_cert=str(client.cert), tls_key=str(client.key))
        assert len(received) == 1
    finally:
        await runner.cleanup()


def test_unusable_tls_files_are_named_when_the_config_loads(tmp_path: Path, ca: TestCA) -> None:
    client, other = ca.issue("gateway-sh031", client=True), ca.issue("gateway-sh032", client=True)
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("-----BEGIN NOTHING-----\n")
    url = "https://127.0.0.1:8428"
    cases = [
        ({"url": url, "tls_ca": str(not_pem)}, f"tls_ca '{not_pem}' is not a PEM CA certificate"),
        (
            {
                "url": url,
                "tls_cert": str(client.cert),
                "tls_key": str(other.key),
            },  # another certificate's key
            f"cannot use tls_cert/tls_key '{client.cert}'",
        ),
        ({"url": url, "tls_cert": str(client.cert)}, "tls_cert and tls_key go together"),
        (
            {"url": "http://127.0.0.1:8428", "tls_ca": str(ca.cert)},
            "tls_ca needs an https:// URL (TLS); the store is http://127.0.0.1:8428",
        ),
    ]
    for settings, problem in cases:
        with pytest.raises(ValidationError) as caught:
            SinkConfig.model_validate({"bucket": "b", **settings})
        assert problem in str(caught.value)


async def test_a_ca_file_gone_bad_after_the_config_loaded_is_named_and_retried(
    tmp_path: Path, tls_store: VictoriaMetrics, ca: TestCA
) -> None:
    city_ca = tmp_path / "city-ca.pem"
    shutil.copy(ca.cert, city_ca)
    config = SinkConfig.model_validate(
        {"url": tls_store.url, "bucket": "b", "name": "city", "tls_ca": str(city_ca), "retry_max": "500ms"}
    )
    city_ca.write_text("half-copied\n")  # as if replaced after the agent checked its config
    status = AgentStatus()
    status.sinks["city"] = SinkStatus("city", tls_store.url)
    buffer = AsyncBuffer(lambda: DiskBuffer(tmp_path / "buffer.db", ["city"], 10**9))
    await buffer.open()
    await buffer.append([gzip.decompress(body()).decode().strip()])
    forwarder = Forwarder(buffer, [InfluxDBSink(config)], status)
    task = asyncio.create_task(forwarder.run())
    try:
        await until(lambda: status.sinks["city"].failures >= 2, 15, "the sink failing to start, twice")
        assert f"tls_ca '{city_ca}' is not a PEM CA certificate" in (status.sinks["city"].last_error or "")
        assert not task.done()  # the forwarder retries; it does not die with the sink
        shutil.copy(ca.cert, city_ca)
        assert await forwarder.drained(20), "the point was not delivered once the CA was fixed"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await buffer.close()
    assert status.sinks["city"].sent_points == 1
    wait_for(lambda: tls_store.points("tls_check_v"), 15, what="the point in the store")


def test_nothing_is_lost_until_the_ca_is_fixed(
    tmp_path: Path, tls_store: VictoriaMetrics, ca: TestCA, campus: SimulatedCampus
) -> None:
    campus.start()
    config = tmp_path / "agent.toml"

    def write_config(tls: str) -> None:
        config.write_text(f"""
[agent]
school = "sh-tls"
interval = "200ms"
state_dir = "state"
[buffer]
flush_interval = "200ms"
[log]
format = "json"
[[sinks.influxdb]]
name = "city"
url = "{tls_store.url}"
bucket = "campus"
retry_max = "1s"
{tls}
{campus.config()}
""")

    write_config("")
    agent = AgentProcess(config)
    agent.start()
    wait_for(lambda: "signed by an unknown CA" in agent.log_text(), 30, what="the TLS refusal logged")
    time.sleep(1)
    assert agent.stop() == 0
    assert not tls_store.export('{school="sh-tls"}')  # nothing went out unverified

    write_config(f'tls_ca = "{ca.cert}"')
    agent = AgentProcess(config)
    agent.start()
    time.sleep(1)
    campus.stop()
    time.sleep(0.5)
    assert agent.stop() == 0

    result = wait_for(
        lambda: (b := books(tmp_path / "state" / "buffer.db", tls_store, "sh-tls", "city")).balanced() and b,
        30,
        what="every reading delivered",
    )
    assert result.delivered == result.accepted > 0
