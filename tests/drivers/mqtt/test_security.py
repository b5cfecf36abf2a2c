"""mqtts with a CA made by the test, client certificates, and username/password: what works,
and the errors a technician sees when it does not."""

from __future__ import annotations

import logging
import secrets
import shutil
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import structlog
from pydantic import ValidationError

from drivers.mqtt import MqttListener
from edge_agent import logs
from tests.support.mosquitto import Mosquitto, TlsFiles, make_test_pki
from tests.support.ports import LOOPBACK
from tests.support.processes import until
from tests.support.tlsca import TestCA

from .conftest import Collector, device, good

pytestmark = pytest.mark.integration


@pytest.fixture
def pki(tmp_path: Path) -> TlsFiles:
    return make_test_pki(tmp_path / "pki")


@pytest.fixture
def tls_broker(tmp_path: Path, pki: TlsFiles) -> Any:
    server = Mosquitto(tmp_path / "tls-broker", tls=pki, require_client_cert=True)
    server.start()
    yield server
    server.stop()


async def publish_tls(broker: Mosquitto, pki: TlsFiles, topic: str, payload: bytes) -> None:
    params = aiomqtt.TLSParameters(
        ca_certs=str(pki.ca), certfile=str(pki.client_cert), keyfile=str(pki.client_key)
    )
    async with aiomqtt.Client(LOOPBACK, broker.port, identifier="tls-publisher", tls_params=params) as client:
        await client.publish(topic, payload, qos=1)


async def test_mqtts_with_the_schools_ca_and_a_client_certificate(
    tls_broker: Mosquitto, pki: TlsFiles, running: Any
) -> None:
    assert tls_broker.url.startswith("mqtts://")
    listener = MqttListener(
        device(tls_broker.url, tls_ca=pki.ca, tls_cert=pki.client_cert, tls_key=pki.client_key)
    )
    collector = Collector()
    running(listener, collector.deliver)
    await until(lambda: listener.stats.connects, 10, "the TLS subscription")
    await publish_tls(tls_broker, pki, "campus/A/301/iaq", good(1))
    await until(lambda: collector.readings, 10, "a reading over TLS")
    assert dict(collector.readings[0].tags) == {"building": "A", "room": "301"}


async def test_a_wrong_ca_fails_with_an_error_that_names_tls_ca(
    tls_broker: Mosquitto, pki: TlsFiles, tmp_path: Path, running: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    other = make_test_pki(tmp_path / "other-pki", name="Some Other CA")
    listener = MqttListener(
        device(tls_broker.url, tls_ca=other.ca, tls_cert=pki.client_cert, tls_key=pki.client_key)
    )
    running(listener, Collector().deliver)
    await until(lambda: listener.stats.connect_failures, 15, "the TLS failure")
    error = listener.stats.last_error or ""
    assert error.startswith(tls_broker.url)
    assert "certificate is signed by an unknown CA; set tls_ca to the file of the CA that signed it" in error
    assert listener.stats.connects == 0
    out = capsys.readouterr().out
    assert "mqtt broker connection failed; retrying" in out and tls_broker.url in out


@pytest.mark.parametrize(
    ("issue", "problem"),
    [
        ({"expired": True}, "the server's certificate has expired"),
        ({"hosts": ("broker.other.example",)}, "the server's certificate is not for this host name"),
    ],
)
async def test_a_broker_certificate_expired_or_for_another_host_is_named(
    tmp_path: Path, running: Any, issue: dict[str, Any], problem: str
) -> None:
    ca = TestCA(tmp_path / "pki")
    server, client = ca.issue("broker", **issue), ca.issue("client", client=True)
    files = TlsFiles(ca.cert, server.cert, server.key, client.cert, client.key)
    broker = Mosquitto(tmp_path / "broker", tls=files)
    broker.start()
    try:
        listener = MqttListener(device(broker.url, tls_ca=ca.cert))
        running(listener, Collector().deliver)
        await until(lambda: listener.stats.connect_failures, 15, "the TLS failure")
        assert problem in (listener.stats.last_error or "")
        assert listener.stats.connects == 0
    finally:
        broker.stop()


async def test_insecure_skip_verify_connects_to_an_unknown_ca_and_says_so(
    tls_broker: Mosquitto, pki: TlsFiles, tmp_path: Path, running: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    other = make_test_pki(tmp_path / "other-pki", name="Some Other CA")
    listener = MqttListener(
        device(
            tls_broker.url,
            tls_ca=other.ca,
            tls_cert=pki.client_cert,
            tls_key=pki.client_key,
            insecure_skip_verify=True,
        )
    )
    running(listener, Collector().deliver)
    await until(lambda: listener.stats.connects, 15, "the unverified connection")
    assert "TLS verification is OFF for this broker" in capsys.readouterr().out


async def test_no_client_certificate_where_the_broker_requires_one(
    tls_broker: Mosquitto, pki: TlsFiles, running: Any
) -> None:
    listener = MqttListener(device(tls_broker.url, tls_ca=pki.ca))
    running(listener, Collector().deliver)
    await until(lambda: listener.stats.connect_failures, 15, "the refusal")
    assert tls_broker.url in (listener.stats.last_error or "")
    assert listener.stats.connects == 0


def test_a_key_that_does_not_match_its_certificate_is_named_when_the_config_loads(pki: TlsFiles) -> None:
    with pytest.raises(ValidationError, match="cannot use tls_cert/tls_key") as caught:
        device("mqtts://127.0.0.1:8883", tls_ca=pki.ca, tls_cert=pki.client_cert, tls_key=pki.server_key)
    assert str(pki.client_cert) in str(caught.value)
    with pytest.raises(ValidationError, match="is not a PEM CA certificate"):
        device("mqtts://127.0.0.1:8883", tls_ca=pki.client_key)


async def test_a_key_that_went_bad_after_the_config_loaded_is_named_at_connect(
    tls_broker: Mosquitto, pki: TlsFiles, tmp_path: Path, running: Any
) -> None:
    key = tmp_path / "client.key"
    shutil.copy(pki.client_key, key)
    listener = MqttListener(device(tls_broker.url, tls_ca=pki.ca, tls_cert=pki.client_cert, tls_key=key))
    shutil.copy(pki.server_key, key)  # replaced by the wrong key after the check
    running(listener, Collector().deliver)
    await until(lambda: listener.stats.connect_failures, 15, "the failure")
    assert "cannot use tls_cert/tls_key" in (listener.stats.last_error or "")


@pytest.fixture
def password_broker(tmp_path: Path) -> Any:
    server = Mosquitto(tmp_path / "auth-broker", passwords={"edge": "s3cret"})
    server.start()
    yield server
    server.stop()


async def test_username_and_password_file(password_broker: Mosquitto, tmp_path: Path, running: Any) -> None:
    secret = tmp_path / "mqtt.password"
    secret.write_text("s3cret\n")
    listener = MqttListener(device(password_broker.url, username="edge", password_file=secret))
    running(listener, Collector().deliver)
    await until(lambda: listener.stats.connects, 10, "the authenticated subscription")


async def test_an_unreadable_password_file_is_named_and_retried(
    password_broker: Mosquitto, tmp_path: Path, running: Any
) -> None:
    secret = tmp_path / "mqtt.password"
    secret.write_text("s3cret\n")
    listener = MqttListener(device(password_broker.url, username="edge", password_file=secret))
    secret.write_bytes(b"\xff\xfes3cret")  # saved in the wrong encoding after the check
    running(listener, Collector().deliver)
    await until(lambda: listener.stats.connect_failures, 10, "the failure")
    assert "cannot read password_file" in (listener.stats.last_error or "")
    secret.write_text("s3cret\n")
    await until(lambda: listener.stats.connects, 15, "the subscription once the file is fixed")


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_a_wrong_password_says_what_to_check(
    password_broker: Mosquitto, tmp_path: Path, running: Any, protocol: str
) -> None:
    secret = tmp_path / "mqtt.password"
    secret.write_text("wrong\n")
    listener = MqttListener(
        device(password_broker.url, username="edge", password_file=secret, protocol=protocol)
    )
    running(listener, Collector().deliver)
    await until(lambda: listener.stats.connect_failures, 10, "the refusal")
    error = listener.stats.last_error or ""
    assert "refused the connection" in error and "check username, password_file" in error
    assert "wrong" not in error.replace("wrong password", "")  # the secret is never shown


async def test_passwords_never_reach_the_logs_even_at_debug_level(
    tmp_path: Path,
    running: Any,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    right, wrong = f"right-{secrets.token_hex(8)}", f"wrong-{secrets.token_hex(8)}"
    password_broker = Mosquitto(tmp_path / "secret-broker", passwords={"edge": right})
    password_broker.start()
    logs.configure("debug", "json")
    caplog.set_level(logging.DEBUG)  # the MQTT client libraries' own loggers too
    for name, password in (("good", right), ("bad", wrong)):
        (tmp_path / name).write_text(password + "\n")
    good = MqttListener(device(password_broker.url, username="edge", password_file=tmp_path / "good"))
    bad = MqttListener(device(password_broker.url, username="edge", password_file=tmp_path / "bad"))
    running(good, Collector().deliver)
    running(bad, Collector().deliver)
    try:
        await until(lambda: good.stats.connects and bad.stats.connect_failures, 15, "both outcomes")
    finally:
        password_broker.stop()
        structlog.reset_defaults()  # later tests expect the default logger, not this one
    captured = capsys.readouterr()
    everything = captured.out + captured.err + caplog.text + str(good.stats) + str(bad.stats)
    assert "mqtt" in everything.lower()  # something was logged at all
    assert right not in everything and wrong not in everything
