"""One engine (one socket) for every device; a second only where SNMPv3 keys would clash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pysnmp.proto import rfc1902, rfc1905  # type: ignore[import-untyped]

from drivers.snmp import SnmpDevice
from drivers.snmp.session import EnginePool, Session
from drivers.snmp.usm import to_raw


def v3(tmp_path: Path, name: str, user: str, passphrase: str) -> SnmpDevice:
    key = tmp_path / f"{name}.key"
    key.write_text(passphrase + "\n")
    return SnmpDevice(
        name=name, host="127.0.0.1", version="3", user=user, auth="sha", auth_key_file=key, profile="system"
    )


async def test_every_device_shares_one_engine_unless_v3_keys_clash(tmp_path: Path) -> None:
    pool = EnginePool()
    sessions = [
        Session(SnmpDevice(name=f"d{i}", host="127.0.0.1", community=f"c{i % 3}", profile="system"), pool)
        for i in range(50)
    ]
    sessions += [Session(v3(tmp_path, f"a{i}", "edge", "same-passphrase"), pool) for i in range(5)]
    for session in sessions:
        await session.open()
    assert pool.engines() == 1
    clash = Session(v3(tmp_path, "other", "edge", "another-passphrase"), pool)
    await clash.open()
    assert pool.engines() == 2  # USM keeps one key set per user name and engine
    for session in [*sessions, clash]:
        session.close()
    assert pool.engines() == 0  # the last device out closes the socket


def test_pysnmp_values_become_plain_raw_values() -> None:
    assert to_raw(rfc1902.Counter32(7)).type == "counter32"
    assert to_raw(rfc1902.Counter64(2**40)).number == 2**40
    assert to_raw(rfc1902.TimeTicks(100)).type == "timeticks"
    assert to_raw(rfc1902.Gauge32(5)).type == "gauge"
    assert to_raw(rfc1902.OctetString(b"\x02\x00")).octets == b"\x02\x00"
    assert to_raw(rfc1902.IpAddress("10.0.0.1")).type == "ipaddress"
    assert to_raw(rfc1902.ObjectIdentifier((1, 3, 6))).oid == (1, 3, 6)
    assert to_raw(rfc1905.NoSuchInstance("")).missing
    assert to_raw(rfc1905.EndOfMibView("")).type == "endofmibview"


POLL_WITHOUT_PYSNMP = """
import asyncio, sys, time
from drivers.snmp import SnmpDevice
from simulators.snmp.agent import SimulatedAgent
from simulators.snmp.switch import Switch

async def main() -> None:
    agent = SimulatedAgent(Switch("switch-1", 1, ports=4, clock=time.time), "127.0.0.1", 0)
    await agent.start()
    try:
        for version in ("1", "2c"):
            entry = SnmpDevice(name="sw", host="127.0.0.1", port=agent.port, version=version,
                               profile=["system", "if-mib"])
            async with entry.create() as driver:
                assert len(await driver.poll()) == 5
    finally:
        agent.close()

asyncio.run(main())
print(sorted(name for name in sys.modules if name.split(".")[0] in ("pysnmp", "pyasn1")))
"""


def test_v1_and_v2c_devices_never_load_pysnmp() -> None:
    """pysnmp costs ~15 MB: only an SNMPv3 device loads it."""
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", POLL_WITHOUT_PYSNMP], capture_output=True, text=True, timeout=60, cwd=root
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == "[]"  # after the driver's log lines
