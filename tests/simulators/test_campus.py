"""Tests of the simulated campus (``python -m simulators campus``).

Servers are real pymodbus TCP servers on free loopback ports, read with a real
pymodbus client.  Async code runs through ``asyncio.run`` inside sync tests so
the tests do not depend on pytest-asyncio configuration.
"""

from __future__ import annotations

import asyncio
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient

from simulators import Campus, build_devices, register_map, render_devices_config, render_profile
from simulators.models import HOUR, LESSONS, ClassroomModel, MachineModel, day_and_time
from simulators.profiles import KINDS, RegisterSpec, table_sizes
from simulators.registers import decode, encode

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "simulators"]
# A Monday; 10:00 UTC is inside the third lesson slot.
MONDAY = datetime(2025, 3, 10, tzinfo=UTC).timestamp()


class ManualClock:
    """Simulated time that only moves when told to."""

    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def free_base_port(count: int) -> int:
    """Find ``count`` consecutive free loopback ports."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + count > 65535:
            continue
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return base
    raise RuntimeError("no free port range")


async def read_table(host: str, port: int, table: str, address: int, count: int, unit: int = 1) -> Any:
    """Read one block with a fresh client; return the pymodbus response."""
    client = AsyncModbusTcpClient(host, port=port, timeout=2, retries=0, reconnect_delay=0)
    try:
        assert await client.connect(), f"cannot connect to {host}:{port}"
        if table == "input":
            return await client.read_input_registers(address, count=count, device_id=unit)
        if table == "holding":
            return await client.read_holding_registers(address, count=count, device_id=unit)
        if table == "discrete":
            return await client.read_discrete_inputs(address, count=count, device_id=unit)
        return await client.read_coils(address, count=count, device_id=unit)
    finally:
        client.close()


async def read_device(
    host: str, port: int, kind: str
) -> tuple[dict[str, float | bool], dict[str, list[Any]]]:
    """Read every table of a device; return (decoded fields, raw table contents)."""
    raw: dict[str, list[Any]] = {}
    for table, size in table_sizes(kind).items():
        response = await read_table(host, port, table, 0, size)
        assert not response.isError(), response
        raw[table] = list(response.bits[:size] if table in ("coil", "discrete") else response.registers)
    return decode_fields(kind, raw), raw


def decode_fields(kind: str, raw: dict[str, list[Any]]) -> dict[str, float | bool]:
    values: dict[str, float | bool] = {}
    for spec in register_map(kind):
        if spec.type == "bool":
            values[spec.field] = bool(raw[spec.table][spec.address])
        else:
            assert spec.order is not None and spec.scale is not None
            words = raw[spec.table][spec.address : spec.address + spec.count]
            values[spec.field] = decode(words, spec.type, spec.order, spec.scale)
    return values


def run(coro_factory: Callable[[], Any]) -> Any:
    return asyncio.run(coro_factory())


# --------------------------------------------------------------- registers


def test_register_encoding_matches_pymodbus() -> None:
    convert = AsyncModbusTcpClient.convert_to_registers
    dt = AsyncModbusTcpClient.DATATYPE
    assert encode(230.5, "float32", "ABCD") == convert(230.5, dt.FLOAT32, word_order="big")
    assert encode(230.5, "float32", "CDAB") == convert(230.5, dt.FLOAT32, word_order="little")
    assert encode(123456.7, "uint32", "CDAB", 0.1) == convert(1234567, dt.UINT32, word_order="little")
    assert encode(70000, "uint32", "ABCD") == [1, 4464]
    assert encode(-12.3, "int16", "ABCD", 0.1) == [65536 - 123]
    assert encode(-5, "uint16") == [0] and encode(1e9, "int16") == [32767]  # saturates
    for reg_type, value, scale in [("int16", -21.4, 0.1), ("uint16", 655.3, 0.1), ("int32", -70000.0, 1.0)]:
        for order in ("ABCD", "CDAB"):
            words = encode(value, reg_type, order, scale)  # type: ignore[arg-type]
            assert decode(words, reg_type, order, scale) == pytest.approx(value)  # type: ignore[arg-type]


# ------------------------------------------------------- layout and config


def test_build_devices_layout() -> None:
    devices = build_devices(classrooms=3, meters=2, machines=2, base_port=15020)
    assert [d.name for d in devices] == [
        "classroom-1",
        "classroom-2",
        "classroom-3",
        "meter-1",
        "meter-2",
        "machine-1",
        "machine-2",
    ]
    assert [d.port for d in devices] == list(range(15020, 15027))
    assert {d.unit for d in devices} == {1} and {d.host for d in devices} == {"127.0.0.1"}
    assert devices[0].tags == {"building": "A", "room": "101"}
    assert devices[1].tags == {"building": "B", "room": "102"}
    assert devices[3].kind == "energy-meter-3ph" and devices[3].tags == {"building": "A", "room": "plant-1"}
    assert devices[4].tags == {"building": "B", "room": "plant-2"}
    assert devices[6].kind == "training-machine" and devices[6].tags == {"building": "T", "room": "lab-2"}


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "localhost", "::", "example.org"])
def test_non_loopback_host_refused(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        Campus(host=host)
    result = subprocess.run(
        [*CLI, "campus", "--host", host],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "loopback" in result.stderr


def test_loopback_hosts_and_port_range() -> None:
    assert build_devices(1, 0, 0, host="127.0.0.2")[0].host == "127.0.0.2"
    assert build_devices(1, 0, 0, host="::1")[0].endpoint == "[::1]:15020"
    assert build_devices(1, 1, 1, base_port=65533)[-1].port == 65535
    for bad in (0, 65534, -1):
        with pytest.raises(ValueError, match="port"):
            build_devices(1, 1, 1, base_port=bad)
    with pytest.raises(ValueError):
        build_devices(0, 0, 0)


def test_print_config_is_agent_toml() -> None:
    devices = build_devices(classrooms=2, meters=1, machines=1, base_port=15020)
    parsed = tomllib.loads(render_devices_config(devices))["devices"]["modbus"]
    assert parsed[2] == {
        "name": "meter-1",
        "host": "127.0.0.1",
        "port": 15022,
        "unit": 1,
        "profile": "energy-meter-3ph",
        "tags": {"building": "A", "room": "plant-1"},
    }
    assert [entry["name"] for entry in parsed] == [d.name for d in devices]
    cli = subprocess.run(
        [*CLI, "campus", "--classrooms", "2", "--meters", "1", "--machines", "1", "--print-config"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert cli.stdout == render_devices_config(devices)


@pytest.mark.parametrize("kind", KINDS)
def test_render_profile_matches_register_map(kind: str, tmp_path: Path) -> None:
    text = render_profile(kind)
    profile = tomllib.loads(text)
    assert profile["tags"] == {"kind": kind}
    assert text.startswith(f"# {kind}: ")
    parsed = [
        RegisterSpec(r["field"], r["table"], r["address"], r["type"], r.get("order"), r.get("scale"))
        for r in profile["registers"]
    ]
    assert tuple(parsed) == register_map(kind)
    subprocess.run([*CLI, "profiles", str(tmp_path)], cwd=REPO, check=True)
    assert (tmp_path / f"{kind}.toml").read_text(encoding="utf-8") == text


def test_meter_profile_format() -> None:
    text = render_profile("energy-meter-3ph")
    assert text.startswith(
        "# energy-meter-3ph: three-phase energy meter, Eastron SDM630 input register map (subset)\n"
        'measurement = "energy_meter"\n'
        'tags = { kind = "energy-meter-3ph" }\n'
        "\n"
        "[[registers]]\n"
        'field = "voltage_l1_v"\n'
        'table = "input"\n'
        "address = 0\n"
        'type = "float32"\n'
        'order = "ABCD"\n'
        "scale = 1.0\n"
    )
    measurements = {k: tomllib.loads(render_profile(k))["measurement"] for k in KINDS}
    assert measurements == {
        "classroom-iaq": "classroom_env",
        "energy-meter-3ph": "energy_meter",
        "training-machine": "training_machine",
    }
    machine = tomllib.loads(render_profile("training-machine"))["registers"]
    assert machine[0] == {"field": "running", "table": "discrete", "address": 0, "type": "bool"}


# ------------------------------------------------------------------ models


def test_classroom_co2_follows_lessons() -> None:
    room = ClassroomModel(seed=2, epoch=MONDAY)
    day, _ = day_and_time(MONDAY)
    lessons = room.lessons(day)
    assert lessons, "seed 2 has lessons on Monday"
    start, end, _ = lessons[1]
    assert room.sample(MONDAY + 3 * HOUR)["co2_ppm"] < 500  # night
    assert room.sample(MONDAY + end - 1)["co2_ppm"] > 1000  # end of a lesson
    assert 55 <= float(room.sample(MONDAY + start + 600)["noise_db"]) <= 70
    assert room.sample(MONDAY + 20 * HOUR)["co2_ppm"] < 500  # decayed in the evening
    assert room.lessons(day + 5) == []  # Saturday
    assert len(LESSONS) == 8 and all(e - s == 45 * 60 for s, e in LESSONS)


# -------------------------------------------------------------- live servers


def test_campus_serves_plausible_values() -> None:
    base = free_base_port(4)

    async def scenario() -> None:
        async with Campus(seed=1, classrooms=2, meters=1, machines=1, base_port=base) as campus:
            assert campus.running
            for device in campus.devices:
                values, raw = await read_device(device.host, device.port, device.kind)
                if device.kind == "classroom-iaq":
                    assert 19 <= float(values["temperature_c"]) <= 27
                    assert 30 <= float(values["humidity_pct"]) <= 70
                    assert 380 <= float(values["co2_ppm"]) <= 2000
                    assert 5 <= float(values["pm25_ugm3"]) <= 60
                    assert 28 <= float(values["noise_db"]) <= 70
                    assert 0 <= float(values["light_lux"]) <= 800
                elif device.kind == "energy-meter-3ph":
                    phases = range(1, 4)
                    for i in phases:
                        assert 220 <= float(values[f"voltage_l{i}_v"]) <= 235
                        amps = float(values[f"current_l{i}_a"])
                        assert 0 < amps < 200
                        pf = float(values[f"power_l{i}_w"]) / (float(values[f"voltage_l{i}_v"]) * amps)
                        assert 0.9 <= pf <= 0.98
                    total = sum(float(values[f"power_l{i}_w"]) for i in phases)
                    assert float(values["power_total_w"]) == pytest.approx(total, rel=1e-5)
                    assert 49.9 <= float(values["frequency_hz"]) <= 50.1
                    assert 10_000 <= float(values["energy_import_kwh"]) <= 90_100
                    assert raw["input"][18:52] == [0] * 34  # unmapped, read as 0
                    assert raw["input"][54:70] == [0] * 16
                else:
                    if values["running"]:
                        assert 800 <= float(values["spindle_rpm"]) <= 3000
                    else:
                        assert values["spindle_rpm"] == 0
                    assert 0 <= float(values["spindle_load_pct"]) <= 100
                    assert float(values["run_time_h"]) >= 500
                    assert (values["alarm_code"] != 0) == values["alarm"]
            # tables a device lacks, and unit ids it is not, are refused
            room, meter, machine = campus.devices[0], campus.devices[2], campus.devices[3]
            assert (await read_table(room.host, room.port, "holding", 0, 1)).exception_code == 2
            assert (await read_table(meter.host, meter.port, "coil", 0, 1)).exception_code == 2
            assert (await read_table(meter.host, meter.port, "input", 74, 2)).exception_code == 2
            assert (await read_table(machine.host, machine.port, "input", 0, 1)).exception_code == 2
            assert (await read_table(meter.host, meter.port, "input", 0, 2, unit=7)).exception_code == 0x0B
        assert not campus.running

    run(scenario)


def test_counters_grow_with_simulated_time() -> None:
    base = free_base_port(2)
    clock = ManualClock(MONDAY + 2 * HOUR)  # 02:00, the lab is closed

    async def scenario() -> None:
        async with Campus(seed=3, classrooms=0, meters=1, machines=1, base_port=base, clock=clock) as campus:
            meter, machine = campus.devices

            async def field(device_index: int, name: str) -> float:
                device = campus.devices[device_index]
                values, _ = await read_device(device.host, device.port, device.kind)
                return float(values[name])

            kwh0, run0 = await field(0, "energy_import_kwh"), await field(1, "run_time_h")
            clock.t += HOUR  # 03:00: night load only, machine idle
            kwh1, run1 = await field(0, "energy_import_kwh"), await field(1, "run_time_h")
            power = float(campus.sample(meter.name)["power_total_w"])
            assert kwh1 > kwh0
            assert kwh1 - kwh0 == pytest.approx(power / 1000, rel=0.3)  # ~1 h of base load
            assert run1 == run0
            clock.t = MONDAY + 17 * HOUR  # after a school day of jobs
            kwh2, run2 = await field(0, "energy_import_kwh"), await field(1, "run_time_h")
            assert kwh2 > kwh1 + 100  # the school day draws tens of kW
            model = campus.models[machine.name]
            assert isinstance(model, MachineModel)
            day, _ = day_and_time(MONDAY)
            assert model.day(day).jobs, "seed 3 machine works on Monday"
            assert run2 - run1 == pytest.approx(model.day(day).run_s / HOUR, abs=0.11)

    run(scenario)


def test_same_seed_same_time_same_values() -> None:
    base = free_base_port(12)
    clock = ManualClock(MONDAY + 10 * HOUR)

    async def snapshot(seed: int, port: int) -> list[dict[str, list[Any]]]:
        async with Campus(seed=seed, classrooms=2, meters=1, machines=1, base_port=port, clock=clock) as c:
            return [(await read_device(d.host, d.port, d.kind))[1] for d in c.devices]

    async def scenario() -> None:
        first, second, other = (
            await snapshot(7, base),
            await snapshot(7, base + 4),
            await snapshot(8, base + 8),
        )
        assert first == second
        assert first != other

    run(scenario)


def test_journal_records_reads(tmp_path: Path) -> None:
    base = free_base_port(2)
    journal = tmp_path / "reads.jsonl"

    async def scenario() -> None:
        async with Campus(seed=1, classrooms=0, meters=1, machines=1, base_port=base, journal=journal) as c:
            meter, machine = c.devices
            before = int(time.time() * 1000)
            energy = await read_table(meter.host, meter.port, "input", 72, 2)
            bits = await read_table(machine.host, machine.port, "discrete", 0, 2)
            await read_table(meter.host, meter.port, "input", 0, 2, unit=9)  # refused: not journaled
            after = int(time.time() * 1000)
            await asyncio.sleep(0.35)  # flushed while running, not only on exit
            lines = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
            assert [(e["device"], e["table"], e["address"]) for e in lines] == [
                ("meter-1", "input", 72),
                ("machine-1", "discrete", 0),
            ]
            assert lines[0]["values"] == energy.registers
            assert lines[1]["values"] == bits.bits[:2] and len(lines[1]["values"]) == 2
            assert all(before <= e["t_ms"] <= after for e in lines)
            assert set(lines[0]) == {"t_ms", "device", "table", "address", "values"}

    run(scenario)


def test_port_in_use_fails_cleanly() -> None:
    base = free_base_port(2)

    async def scenario() -> None:
        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", base + 1))
            blocker.listen()
            campus = Campus(classrooms=2, meters=0, machines=0, base_port=base)
            with pytest.raises(OSError, match="classroom-2"):
                await campus.start()
            assert not campus.running
        async with Campus(classrooms=1, meters=0, machines=0, base_port=base):  # first port was released
            pass

    run(scenario)


def test_cli_ready_then_sigterm_exits_zero(tmp_path: Path) -> None:
    base = free_base_port(3)
    journal = tmp_path / "cli.jsonl"
    cmd = [*CLI, "campus", "--seed", "1", "--classrooms", "1", "--meters", "1"]
    cmd += ["--machines", "1", "--base-port", str(base), "--journal", str(journal)]
    stdout_lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        stdout, stderr = proc.stdout, proc.stderr
        assert stdout is not None and stderr is not None

        def pump() -> None:
            for line in stdout:
                stdout_lines.put(line)

        # a thread, since select() cannot see lines already in the pipe's buffer
        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            lines: list[str] = []
            while "ready" not in lines:
                lines.append(stdout_lines.get(timeout=20).rstrip("\n"))
            assert lines == [
                f"classroom-1 classroom-iaq 127.0.0.1:{base} unit=1",
                f"meter-1 energy-meter-3ph 127.0.0.1:{base + 1} unit=1",
                f"machine-1 training-machine 127.0.0.1:{base + 2} unit=1",
                "ready",
            ]
            response = run(lambda: read_table("127.0.0.1", base + 1, "input", 0, 74))
            assert not response.isError()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            assert stderr.read() == ""
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            reader.join(timeout=5)  # EOF once the process is gone
    entries = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert [(e["device"], e["address"], len(e["values"])) for e in entries] == [("meter-1", 0, 74)]
