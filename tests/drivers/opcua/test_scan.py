"""``edge-agent scan opcua``: a draft entry the agent loads, and the server certificate saved to trust."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from asyncua import ua

from drivers.opcua import OpcuaDriver
from drivers.opcua.security import thumbprint
from edge_agent.config import load
from simulators.opcua import OpcuaMachine

from . import certs
from .machines import cnc, port


async def scan(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge_agent",
        "scan",
        "opcua",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_draft_loads_and_names_the_umati_profile(tmp_path: Path) -> None:
    async with OpcuaMachine("cnc-1", "cnc", port()) as machine:
        code, draft, err = await scan("--url", machine.url, "--name", "lathe-1")
    assert code == 0, err
    assert 'profile = "opcua-cnc-umati" with root = "Machines/cnc-1"' in draft
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-031"\n' + draft)
    (entry,) = load(config).config.devices.opcua
    fields = {n.field for n in entry.nodes if n.field}
    assert {"spindle_actual_speed", "machine_tool_power_on_duration"} <= fields
    assert all(n.node and n.node.startswith("nsu=urn:campus-edge-agent:simulators:cnc;") for n in entry.nodes)
    assert [n.tag for n in entry.nodes if n.tag] == ["active_program_name"]
    assert machine.writes == 0


async def test_save_cert_shows_the_thumbprint_and_the_saved_file_is_then_trusted(
    tmp_path: Path,
) -> None:
    server = certs.make(tmp_path / "server", "cnc-1", "urn:campus-edge-agent:simulators:cnc-1")
    agent = certs.make(tmp_path / "agent", "agent", "urn:campus-edge-agent:sh-031")
    trust = tmp_path / "trust"
    trust.mkdir()
    async with OpcuaMachine(
        "cnc-1",
        "cnc",
        port(),
        certificate=server.cert,
        private_key=server.key,
        policies=[ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt],
    ) as machine:
        code, out, err = await scan("--url", machine.url, "--save-cert", str(trust / "cnc-1.der"))
        assert code == 0, err
        assert thumbprint(server.der) in out
        assert (trust / "cnc-1.der").read_bytes() == server.der
        secured: dict[str, Any] = {
            "policy": "Basic256Sha256",
            "cert_file": agent.cert,
            "key_file": agent.key,
            "trust_dir": trust,
        }
        driver = OpcuaDriver(cnc("cnc-1", machine.url, **secured))
        async with driver:
            (reading,) = await driver.poll()
    assert len(reading.fields) == 8


async def test_a_server_that_is_not_there_is_named() -> None:
    code, _, err = await scan("--url", f"opc.tcp://127.0.0.1:{port()}")
    assert code == 1 and "connection refused" in err
