"""The [[devices.opcua]] config: sample, profiles through the loader, and errors a technician can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.opcua.config import OpcuaDevice, split_path
from edge_agent.config import load

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "drivers" / "opcua" / "sample.toml"
NODE = {"field": "spindle_rpm", "node": "ns=2;s=Spindle.Speed"}


def device(**entry: Any) -> OpcuaDevice:
    return OpcuaDevice(
        **{
            "name": "lathe-1",
            "url": "opc.tcp://10.31.5.21:4840",
            "measurement": "training_machine",
            "nodes": [NODE],
            **entry,
        }
    )


def error_of(**entry: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        device(**entry)
    return str(caught.value)


def load_config(tmp_path: Path, devices: str) -> Any:
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-031"\n' + devices)
    return load(config).config


def test_the_sample_loads(tmp_path: Path) -> None:
    text = SAMPLE.read_text()
    for name in ("secrets/opcua-agent.der", "secrets/opcua-agent.key", "secrets/opcua-lathe-1"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
        text = text.replace(f"/etc/edge-agent/{name}", str(tmp_path / name))
    (tmp_path / "trusted").mkdir()
    text = text.replace("/etc/edge-agent/opcua-trusted", str(tmp_path / "trusted"))
    lathe, rig, cell = load_config(tmp_path, text).devices.opcua
    assert lathe.policy == "Basic256Sha256" and lathe.user_identity == "username"
    assert "user edge-agent" in lathe.describe() and "Basic256Sha256/SignAndEncrypt" in lathe.describe()
    assert lathe.measurement == "training_machine" and lathe.tags["kind"] == "opcua-cnc-umati"
    assert lathe.root == "Machines/lathe-1" and lathe.interval == 5.0
    assert rig.nodes[0].node is not None and rig.nodes[0].node.startswith("nsu=")
    assert [n.name for n in cell.nodes] == ["running", "spindle_rpm", "cabinet_temp_c", "program"]
    assert cell.nodes[2].offset == pytest.approx(-17.7778)


@pytest.mark.parametrize("profile", ["opcua-cnc-umati", "opcua-plc-rig"])
def test_profiles_write_the_training_machine_fields_of_the_schema(tmp_path: Path, profile: str) -> None:
    (entry,) = load_config(
        tmp_path,
        f"""
[[devices.opcua]]
name = "m-1"
url = "opc.tcp://127.0.0.1:4840"
profile = "{profile}"
""",
    ).devices.opcua
    fields = {n.field for n in entry.nodes if n.field}
    # The fields of the Modbus training machines (docs/schema.md), so one dashboard shows both.
    assert {
        "running",
        "alarm",
        "spindle_rpm",
        "spindle_load_pct",
        "run_time_h",
        "alarm_code",
        "parts_count",
    } <= fields
    assert [n.tag for n in entry.nodes if n.tag] == ["program"]
    assert entry.measurement == "training_machine"


def test_describe_names_address_security_and_identity_never_a_secret(tmp_path: Path) -> None:
    line = device().describe()
    assert line == (
        "opcua opc.tcp://10.31.5.21:4840 (no security, anonymous): 1 nodes by Read -> training_machine"
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"url": "http://10.31.5.21:4840"}, "opc.tcp://host:port"),
        ({"url": "opc.tcp://user:pw@10.31.5.21:4840"}, "no credentials in the URL"),
        ({"nodes": []}, "nothing to read"),
        ({"nodes": [{"field": "x", "node": "Spindle.Speed"}]}, "is not a NodeId"),
        ({"nodes": [{"field": "x"}]}, "exactly one"),
        ({"nodes": [{"field": "x", "tag": "y", "node": "i=1"}]}, "exactly one of them"),
        ({"nodes": [{"tag": "program", "node": "i=1", "scale": 2}]}, "apply to fields"),
        ({"nodes": [NODE, NODE]}, "read twice"),
        ({"nodes": [{"field": "x", "path": "Monitoring//Speed"}]}, "empty element"),
        ({"policy": "Basic256Sha256"}, "needs cert_file, key_file, trust_dir"),
        ({"security_mode": "Sign"}, "needs a policy"),
        ({"username": "op"}, "go together"),
        ({"measurement": None}, "measurement"),
    ],
)
def test_mistakes_are_named_with_the_fix(entry: dict[str, Any], expected: str) -> None:
    assert expected in error_of(**entry)


def test_browse_paths_split_into_names_with_optional_namespace_index() -> None:
    assert split_path("2:Machines/Lathe-1/Monitoring") == [
        (2, "Machines"),
        (None, "Lathe-1"),
        (None, "Monitoring"),
    ]


def test_the_campus_simulator_prints_opcua_entries_the_agent_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from simulators.__main__ import main

    assert (
        main(
            [
                "campus",
                "--classrooms",
                "1",
                "--meters",
                "0",
                "--machines",
                "0",
                "--opcua-cnc",
                "1",
                "--opcua-rigs",
                "1",
                "--opcua-port",
                "17200",
                "--print-config",
            ]
        )
        == 0
    )
    loaded = load_config(tmp_path, capsys.readouterr().out).devices.opcua
    assert [(d.name, d.url) for d in loaded] == [
        ("cnc-1", "opc.tcp://127.0.0.1:17200"),
        ("rig-1", "opc.tcp://127.0.0.1:17201"),
    ]
    assert loaded[0].root == "Machines/cnc-1"
