"""An OPC UA point table: node ids or browse paths, fields named by the glossary and the unit."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.opcua import OpcuaDriver
from drivers.opcua.config import NodeSpec
from edge_agent.config import load
from simulators.opcua import OpcuaMachine
from tests.support.ports import free_port

from .tables import bundled, profile_data, run_import

NS = "nsu=urn:campus-edge-agent:simulators:plc-rig;s=Rig."
#: The training PLC rig's variables as its integrator lists them.
RIG = f"""实训台 PLC 点表 (OPC UA)
measurement,training_machine
名称,字段,节点,单位,标签,说明
设备状态,state_code,{NS}State,,,0 停机 1 空闲 2 运行 3 报警
运行状态,,{NS}Running,,,
报警,,{NS}Alarm,,,
门状态,,{NS}DoorOpen,,,
急停,,{NS}EmergencyStop,,,
主轴转速,spindle,{NS}SpindleSpeed,r/min,,
主轴负载,spindle_load,{NS}SpindleLoad,%,,
报警代码,,{NS}AlarmCode,,,
产量,,{NS}PartCount,,,
累计运行时间,,{NS}RunTime,h,,
程序名,,{NS}Program,,program,
"""


def test_the_rig_s_table_becomes_the_hand_written_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "rig.csv"
    table.write_text(RIG, encoding="utf-8-sig")
    out = tmp_path / "rig.toml"
    code, _, err = run_import(capsys, table, "--protocol", "opcua", "--out", out)
    assert code == 0, err
    nodes = [NodeSpec.model_validate(n) for n in profile_data(out)["nodes"]]
    assert nodes == [NodeSpec.model_validate(n) for n in bundled("opcua-plc-rig")["nodes"]]


async def test_the_imported_profile_reads_the_simulated_rig(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "rig.csv"
    table.write_text(RIG, encoding="utf-8-sig")
    profiles = tmp_path / "config" / "profiles"
    profiles.mkdir(parents=True)
    assert run_import(capsys, table, "--protocol", "opcua", "--out", profiles / "rig.toml")[0] == 0
    async with OpcuaMachine("rig-1", "plc-rig", free_port()) as machine:
        config = tmp_path / "config" / "agent.toml"
        config.write_text(
            f'[agent]\nschool = "sh-031"\n[[devices.opcua]]\nname = "rig-1"\n'
            f'url = "{machine.url}"\nprofile = "rig"\n',
            encoding="utf-8",
        )
        [device] = load(config).config.devices.opcua
        driver = OpcuaDriver(device)
        async with driver:
            [reading] = await driver.poll()
    assert [name for name, _ in reading.fields] == [
        n["field"] for n in bundled("opcua-plc-rig")["nodes"][:-1]
    ]
    assert reading.tags[0][0] == "program"


def test_a_row_without_a_node_or_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "rig.csv"
    table.write_text("measurement,m\nname,field,node,path\nspeed,spindle_rpm,,\n", encoding="utf-8")
    code, _, err = run_import(capsys, table, "--protocol", "opcua", "--out", tmp_path / "p.toml")
    assert code == 1
    assert f"{table}, row 3, column 'node': every point needs a node id or a browse path" in err


def test_a_node_id_that_is_none_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "rig.csv"
    table.write_text("measurement,m\nname,field,node\nspeed,spindle_rpm,Spindle.Speed\n", encoding="utf-8")
    code, _, err = run_import(capsys, table, "--protocol", "opcua", "--out", tmp_path / "p.toml")
    assert code == 1
    assert f"{table}, row 3, column 'node': spindle_rpm: node 'Spindle.Speed' is not a NodeId" in err
