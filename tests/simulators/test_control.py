"""``python -m simulators ctl``: one device of a running campus stopped and started again."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from campus_core.readings import DeviceError
from drivers.bacnet import BacnetDriver
from simulators.bacnet.campus import BacnetCampus, BacnetInfo
from simulators.campus import Campus
from simulators.control import CampusControl
from simulators.snmp import SnmpCampus
from tests.drivers.bacnet.plant import entry
from tests.support.ports import LOOPBACK, free_port, free_port_range, free_udp_port, free_udp_ports
from tests.support.processes import SimulatedCampus

pytestmark = pytest.mark.integration


@pytest.fixture
def campus(tmp_path: Path) -> Iterator[SimulatedCampus]:
    sim = SimulatedCampus(tmp_path / "campus", classrooms=1, meters=0, machines=1, switches=1, control=True)
    sim.start()
    yield sim
    sim.stop()


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((LOOPBACK, port)) != 0


def test_a_stopped_device_refuses_and_a_started_one_answers(campus: SimulatedCampus) -> None:
    machine_port = campus.base_port + 1
    assert campus.ctl("status").stdout.split() == [
        "classroom-1=running",
        "machine-1=running",
        "switch-1=running",
    ]
    stopped = campus.ctl("stop", "machine-1")
    assert (stopped.returncode, stopped.stdout.strip()) == (0, "machine-1 stopped")
    assert _refused(machine_port) and not _refused(campus.base_port)
    assert campus.ctl("stop", "machine-1").stdout.strip() == "machine-1 is already stopped"
    assert "machine-1=stopped" in campus.ctl("status").stdout
    assert campus.ctl("start", "machine-1").stdout.strip() == "machine-1 started"
    assert not _refused(machine_port)


def test_what_cannot_be_done_is_said(campus: SimulatedCampus) -> None:
    unknown = campus.ctl("stop", "machine-9")
    assert unknown.returncode == 1
    assert "no device 'machine-9' to stop; these can be: classroom-1, machine-1, switch-1" in unknown.stderr
    nobody = subprocess.run(
        [sys.executable, "-m", "simulators", "ctl", "stop", "machine-1", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert nobody.returncode == 2 and "no campus answers" in nobody.stderr and "make demo" in nobody.stderr


async def test_a_stopped_snmp_device_falls_silent() -> None:
    campus = Campus(classrooms=1, meters=0, machines=0, base_port=free_port_range(1), host=LOOPBACK)
    snmp = SnmpCampus(switches=1, ups=0, base_port=free_udp_ports(1), host=LOOPBACK, ports=2)
    await campus.start()
    await snmp.start()
    control = CampusControl(campus, snmp)
    try:
        assert await control.answer("stop switch-1") == "ok switch-1 stopped"
        assert not await _answers(snmp.devices[0].port)
        assert await control.answer("start switch-1") == "ok switch-1 started"
        assert await _answers(snmp.devices[0].port)
        assert (await control.answer("reboot switch-1")).startswith("error say 'stop NAME'")
    finally:
        await snmp.stop()
        await campus.stop()


async def _answers(port: int) -> bool:
    """Whether an SNMP GET of sysUpTime on ``port`` gets any answer within half a second."""
    # SNMPv2c GET of sysUpTime.0 (1.3.6.1.2.1.1.3.0), community "public", request id 1.
    get = bytes.fromhex(
        "3026" "020101" "04067075626c6963" "a019" "020101" "020100" "020100"
        "300e" "300c" "06082b06010201010300" "0500"
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    received: asyncio.Future[bytes] = loop.create_future()

    class _Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            if not received.done():
                received.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(_Client, remote_addr=(LOOPBACK, port))
    try:
        transport.sendto(get)
        await asyncio.wait_for(received, 0.5)
        return True
    except TimeoutError:
        return False
    finally:
        transport.close()


async def test_a_stopped_bacnet_controller_falls_silent_and_comes_back_with_new_firmware() -> None:
    campus = Campus(classrooms=1, meters=0, machines=0, base_port=free_port_range(1), host=LOOPBACK)
    vav = BacnetInfo("vav-1", "bacnet-vav", "127.0.0.31", free_udp_port(), instance=2001)
    bacnet = BacnetCampus([vav])
    await campus.start()
    await bacnet.start()
    control = CampusControl(campus, bacnet=bacnet)
    driver = BacnetDriver(entry(bacnet.devices[0], free_udp_port()))
    try:
        async with driver:
            assert "vav-1=running" in await control.answer("status")
            assert await control.answer("stop vav-1") == "ok vav-1 stopped"
            with pytest.raises(DeviceError):
                await driver.poll()
            assert await control.answer("firmware vav-1 3.0.2") == "ok vav-1 runs firmware 3.0.2"
            assert await control.answer("start vav-1") == "ok vav-1 started"
            await driver.poll()
            assert dict((await driver.identify()).pairs)["firmware"] == "3.0.2"
    finally:
        await bacnet.stop()
        await campus.stop()
