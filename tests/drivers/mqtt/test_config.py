"""The [[devices.mqtt]] and [[sinks.mqtt]] config: the sample loads, mistakes are named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge_agent.config import ConfigError, load
from tests.support.mosquitto import make_test_pki

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "drivers" / "mqtt" / "sample.toml"


def with_secrets(tmp_path: Path, text: str) -> str:
    """The sample's /etc/edge-agent/secrets/ files, created in tmp (the TLS ones real PEM files)."""
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    for name in ("mqtt-edge.password", "city.password"):
        (secrets / name).write_text("x\n")
    pki = make_test_pki(tmp_path / "pki")
    made = {"district-ca.pem": pki.ca, "sh-031.crt": pki.client_cert, "sh-031.key": pki.client_key}
    for name, path in made.items():
        shutil.copy(path, secrets / name)
    return text.replace("/etc/edge-agent/secrets/", f"{secrets}/")


def load_text(tmp_path: Path, text: str) -> object:
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-031"\ncampus = "east"\n' + text)
    return load(config).config


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text)
    return str(caught.value)


def test_the_sample_config_loads(tmp_path: Path) -> None:
    config = load_text(tmp_path, with_secrets(tmp_path, SAMPLE.read_text()))
    devices = config.devices.mqtt  # type: ignore[attr-defined]
    assert [d.name for d in devices] == ["wireless-iaq", "lab-door-sensors"]
    assert devices[0].session_id == "edge-sh-031-wireless-iaq"
    assert [p.filter for p in devices[1].patterns] == ["zigbee2mqtt/lab/+/+", "zigbee2mqtt/workshop/+/door"]
    assert devices[1].address.port == 8883 and devices[1].address.tls
    (sink,) = config.sinks.mqtt  # type: ignore[attr-defined]
    assert sink.resolved_topic == "edu/sh-031/east/metrics" and not sink.gzip


def test_the_bundled_wireless_profile_fills_a_device(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """
[[devices.mqtt]]
name = "w"
broker = "mqtt://127.0.0.1:1883"
topic = "campus/{building}/{room}/iaq"
profile = "wireless-iaq"
""",
    )
    device = config.devices.mqtt[0]  # type: ignore[attr-defined]
    assert device.measurement == "classroom_env" and device.tags == {"kind": "wireless-iaq"}
    assert [f.field for f in device.fields][:2] == ["co2_ppm", "temperature_c"]


SINK = """
[[sinks.mqtt]]
broker = "mqtt://city-broker.example:1883"
topic = "edu/{school}/{campus}/metrics"
"""


def test_the_sink_topic_carries_school_and_campus(tmp_path: Path) -> None:
    sink = load_text(tmp_path, SINK).sinks.mqtt[0]  # type: ignore[attr-defined]
    assert sink.resolved_topic == "edu/sh-031/east/metrics"
    assert sink.name == "mqtt-city-broker.example"
    assert sink.session_id == "edge-sh-031-sink-mqtt-city-broker.example"


DEVICE = """
[[devices.mqtt]]
name = "w"
broker = "{broker}"
topic = "{topic}"
measurement = "m"
{extra}
  [[devices.mqtt.fields]]
  field = "co2_ppm"
  path = "{path}"
"""


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"broker": "tcp://10.0.0.1"}, "devices.mqtt[0].broker: must be a broker URL"),
        ({"broker": "mqtt://u:p@10.0.0.1"}, "put no credentials in the URL"),
        ({"topic": "a/#/b"}, "'#' must be the last level"),
        ({"topic": "campus/{building}/x", "extra": 'tags = { building = "A" }'}, "sets tag(s) building"),
        ({"path": "env..temp"}, "empty segment"),
        ({"extra": 'tls_ca = "ca.pem"'}, "does not exist"),
        ({"extra": 'password_file = "/nonexistent/pw"'}, "does not exist"),
        ({"extra": 'timestamp = { path = "ts", format = "epoch_us" }'}, "'rfc3339', 'epoch_s' or 'epoch_ms'"),
        ({"extra": "qos = 0"}, "unknown key 'qos'"),
    ],
)
def test_device_mistakes_name_the_key(tmp_path: Path, changes: dict[str, str], says: str) -> None:
    values = {"broker": "mqtt://10.0.0.1", "topic": "campus/{room}", "path": "co2", "extra": ""} | changes
    assert says in problems(tmp_path, DEVICE.format(**values))


def test_tls_files_need_mqtts(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    text = DEVICE.format(broker="mqtt://10.0.0.1", topic="a", path="co2", extra=f'tls_ca = "{ca}"')
    assert "tls_ca needs an mqtts:// broker URL" in problems(tmp_path, text)


@pytest.mark.parametrize(
    ("topic", "says"),
    [
        ("edu/{school}/{building}", "unknown placeholder {building}"),
        ("edu/+/metrics", "no wildcards"),
        ("edu/{school", "not a topic template"),
    ],
)
def test_sink_topic_mistakes(tmp_path: Path, topic: str, says: str) -> None:
    assert says in problems(tmp_path, SINK.replace("edu/{school}/{campus}/metrics", topic))
