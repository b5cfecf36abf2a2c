"""``edge-agent test`` reads OPC UA machines like the others; a wrong one is named, the others print."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from simulators.opcua import OpcuaCampus, build_opcua_machines, render_opcua_config
from tests.support.ports import free_port, free_port_range
from tests.support.processes import cli

pytestmark = pytest.mark.integration


async def test_edge_agent_test_prints_opcua_points_and_names_the_device_it_cannot_read(
    tmp_path: Path,
) -> None:
    campus = OpcuaCampus(build_opcua_machines(1, 1, free_port_range(2)))
    config = tmp_path / "agent.toml"
    wrong = f"opc.tcp://127.0.0.1:{free_port()}"
    head = f'[agent]\nschool = "sh-031"\nstate_dir = "{tmp_path / "state"}"\n[health]\nlisten = ""\n\n'
    bad = f'\n[[devices.opcua]]\nname = "lathe-9"\nurl = "{wrong}"\nprofile = "opcua-plc-rig"\n'
    config.write_text(head + render_opcua_config(campus.infos) + bad)
    await campus.start()
    try:
        result = await asyncio.to_thread(cli, "test", str(config))
    finally:
        await campus.stop()
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    cnc = next(line for line in lines if "device=cnc-1" in line)
    rig = next(line for line in lines if "device=rig-1" in line)
    assert cnc.startswith("training_machine,") and "kind=opcua-cnc-umati" in cnc and "spindle_rpm=" in cnc
    assert "kind=opcua-plc-rig" in rig and "state_code=" in rig and "program=" in rig
    assert "lathe-9" in result.stderr and "connection refused" in result.stderr
    assert not any("lathe-9" in line for line in lines)
