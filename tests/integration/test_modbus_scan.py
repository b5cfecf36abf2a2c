"""``edge-agent scan modbus`` finds the simulators' devices, reads nothing but reads, and its
draft entry passes ``edge-agent check`` as printed."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from drivers.modbus import scan
from simulators import Campus
from simulators.bus import Bus, build_bus
from simulators.nullmodem import NullModem
from tests.support.ports import LOOPBACK, free_port, free_port_range
from tests.support.processes import SimulatedCampus, cli

pytestmark = pytest.mark.integration


def scan_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    scan.add_arguments(parser)
    return parser.parse_args(list(argv))


async def run_scan(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    # scan.run owns its event loop, as on the command line; the servers keep this one.
    code = await asyncio.to_thread(scan.run, scan_args(*argv))
    return code, capsys.readouterr().out


def check(tmp_path: Path, draft: str) -> str:
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-test"\nstate_dir = "state"\n\n' + draft)
    result = cli("check", str(config))
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_scan_finds_the_units_on_a_serial_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    async with Bus(build_bus(classrooms=1, meters=1, first_unit=3), host=LOOPBACK, port=port) as bus:
        code, draft = await run_scan(
            capsys,
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--transport",
            "rtu-over-tcp",
            "--units",
            "1-6",
            "--addresses",
            "0-79",
            "--timeout",
            "200ms",
            "--max-fields",
            "100",
        )
    assert code == 0
    assert "2 unit(s) answered" in draft
    assert "unit = 3" in draft and "unit = 4" in draft
    assert '# profile = "classroom-iaq" fits' in draft and '# profile = "energy-meter-3ph" fits' in draft
    assert set(bus.function_codes) <= {1, 2, 3, 4}
    summary = check(tmp_path, draft)
    assert f"modbus rtu-over-tcp {LOOPBACK}:{port} unit 4: 74 fields" in summary


async def test_scan_on_a_serial_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with NullModem() as modem, Bus(build_bus(machines=1, first_unit=2), serial=modem.a) as bus:
        code, draft = await run_scan(
            capsys,
            "--serial",
            modem.b,
            "--baudrate",
            "19200",
            "--units",
            "1-3",
            "--addresses",
            "0-15",
            "--timeout",
            "200ms",
            "--pause",
            "5ms",
        )
    assert code == 0
    assert f'serial = "{modem.b}"\nbaudrate = 19200\nparity = "N"' in draft
    assert "unit = 2" in draft and 'pause = "5ms"' in draft
    assert set(bus.function_codes) <= {1, 2, 3, 4}
    summary = check(tmp_path, draft)
    assert f"modbus {modem.b} 19200 8N1 unit 2" in summary


async def test_scan_reads_only_and_finds_a_tcp_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Campus(classrooms=0, meters=0, machines=1, base_port=free_port_range(1), host=LOOPBACK) as sim:
        device = sim.device("machine-1")
        code, draft = await run_scan(
            capsys, "--host", LOOPBACK, "--port", str(device.port), "--units", "1-3", "--addresses", "0-31"
        )
        received = sim.function_codes
    assert code == 0
    assert "# unit 1: holding 0-4; discrete 0-15" in draft
    assert '# profile = "training-machine" fits' in draft
    assert set(received) <= {1, 2, 3, 4} and sum(received.values()) > 10
    check(tmp_path, draft)


def test_the_scan_command_against_the_simulated_campus(tmp_path: Path) -> None:
    campus = SimulatedCampus(tmp_path / "campus", classrooms=1, meters=0, machines=0)
    campus.start()
    try:
        result = cli(
            "scan",
            "modbus",
            "--host",
            LOOPBACK,
            "--port",
            str(campus.base_port),
            "--units",
            "1-2",
            "--addresses",
            "0-15",
        )
    finally:
        campus.stop()
    assert result.returncode == 0, result.stderr
    assert "unit 1 answers" in result.stderr
    assert "# unit 1: input 0-6" in result.stdout
    check(tmp_path, result.stdout)


def test_scan_says_when_nothing_answers() -> None:
    result = cli("scan", "modbus", "--host", LOOPBACK, "--port", str(free_port()), "--units", "1")
    assert result.returncode == 1
    assert "cannot connect to 127.0.0.1" in result.stderr
    assert cli("scan", "modbus", "--host", LOOPBACK, "--units", "300").returncode == 2
