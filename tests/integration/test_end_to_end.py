"""One reading the whole way: simulated Modbus devices -> edge-agent run -> VictoriaMetrics.

The simulator journals every read it serves; each point in the store is checked against
the raw registers served for it, decoded here independently of the agent's decoder.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Any

import pytest

from edge_agent.buffer import DiskBuffer
from simulators.profiles import kind_info
from tests.support.processes import AgentProcess, JournalEntry, SimulatedCampus, wait_for
from tests.support.victoriametrics import VictoriaMetrics

from .conftest import AgentFactory

pytestmark = pytest.mark.integration

KINDS = {"classroom": "classroom-iaq", "meter": "energy-meter-3ph", "machine": "training-machine"}
FORMATS = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}
WORD_SWAP = {"ABCD": False, "CDAB": True}


def kind_of(device: str) -> str:
    return KINDS[device.rsplit("-", 1)[0]]


def decode(spec: Any, block: JournalEntry) -> float | bool:
    """The value of one mapped register from the raw words the simulator served."""
    offset = spec.address - block.address
    if spec.type == "bool":
        return bool(block.values[offset])
    words = block.values[offset : offset + spec.count]
    if WORD_SWAP[spec.order]:
        words = list(reversed(words))
    value = struct.unpack(FORMATS[spec.type], struct.pack(f">{len(words)}H", *words))[0]
    return float(value * spec.scale)


def expected_points(campus: SimulatedCampus, stored: dict[str, list[int]]) -> dict[tuple[str, str, int], Any]:
    """For each stored point (device, field, ts): the value served in the poll it came from."""
    journal = campus.journal()
    expected = {}
    for device, timestamps in stored.items():
        specs = kind_info(kind_of(device)).registers
        entries = [e for e in journal if e.device == device]
        for ts in timestamps:
            for spec in specs:
                blocks = [
                    e
                    for e in entries
                    if e.table == spec.table
                    and e.t_ms <= ts
                    and e.address <= spec.address < e.address + len(e.values)
                ]
                assert blocks, f"{device}: no read served before the point at {ts}"
                expected[(device, spec.field, ts)] = decode(spec, blocks[-1])
    return expected


def stored_points(store: VictoriaMetrics) -> dict[tuple[str, str, int], tuple[float, dict[str, str]]]:
    """(device, field, ts) -> (value, labels) for every point of school sh-test."""
    out = {}
    for (name, labels), values in store.points('{school="sh-test"}').items():
        tags = dict(labels)
        if "device" not in tags or name.startswith(("edge_agent_device_", "asset_")):
            continue  # the agent's own edge_agent, edge_agent_device and asset points
        measurement = kind_info(kind_of(tags["device"])).measurement
        assert name.startswith(measurement + "_"), name
        for ts, value in values.items():
            out[(tags["device"], name[len(measurement) + 1 :], ts)] = (value, tags)
    return out


def stored_timestamps(store: VictoriaMetrics) -> dict[str, list[int]]:
    by_device: dict[str, set[int]] = {}
    for device, _, ts in stored_points(store):
        by_device.setdefault(device, set()).add(ts)
    return {device: sorted(ts) for device, ts in by_device.items()}


def all_polls_stored(store: VictoriaMetrics, campus: SimulatedCampus) -> bool:
    served = campus.served_polls()
    stored = stored_timestamps(store)
    return bool(served) and all(len(stored.get(d, [])) >= len(t) for d, t in served.items())


def assert_every_served_value_arrived(store: VictoriaMetrics, campus: SimulatedCampus) -> None:
    served = campus.served_polls()
    stored = stored_points(store)
    timestamps = stored_timestamps(store)
    for device, polls in served.items():
        assert len(timestamps[device]) == len(polls), (
            f"{device}: {len(polls)} polls served, {len(timestamps[device])} points stored"
        )
    expected = expected_points(campus, timestamps)
    assert set(stored) == set(expected)
    for key, value in expected.items():
        got, tags = stored[key]
        assert got == pytest.approx(float(value), rel=1e-6, abs=1e-9), key
        device = key[0]
        assert tags["school"] == "sh-test" and tags["campus"] == "main"
        assert tags["kind"] == kind_of(device)
        assert {"building", "room"} <= set(tags)


def test_every_value_served_arrives_with_its_name_tags_and_value(
    store: VictoriaMetrics, campus: SimulatedCampus, agent_for: AgentFactory
) -> None:
    campus.start()
    agent = agent_for(campus, store.url)
    agent.start()
    wait_for(lambda: len(campus.served_polls().get("meter-1", [])) >= 5, 30, what="five meter polls")
    campus.stop()
    wait_for(lambda: all_polls_stored(store, campus), 30, what="all polls in the store")
    assert agent.stop() == 0
    assert_every_served_value_arrived(store, campus)
    labels = {tags["device"]: tags for _, tags in stored_points(store).values()}
    assert labels["classroom-1"]["building"] == "A" and labels["classroom-1"]["room"] == "101"
    assert labels["machine-1"]["building"] == "T"


def test_a_store_outage_loses_nothing(
    store: VictoriaMetrics, campus: SimulatedCampus, agent_for: AgentFactory
) -> None:
    campus.start()
    agent = agent_for(campus, store.url)
    agent.start()
    wait_for(lambda: all_polls_stored(store, campus), 30, what="first points in the store")
    store.stop()
    polled_before = len(campus.served_polls()["classroom-1"])
    wait_for(
        lambda: len(campus.served_polls()["classroom-1"]) >= polled_before + 8,
        30,
        what="polls during the outage",
    )
    store.start()
    time.sleep(1)
    campus.stop()
    wait_for(lambda: all_polls_stored(store, campus), 60, what="the backlog to drain")
    assert agent.stop() == 0
    assert_every_served_value_arrived(store, campus)
    assert '"sink write failed; data kept, retrying"' in agent.log_text()


def test_sigkill_loses_nothing_that_was_buffered(
    tmp_path: Path, campus: SimulatedCampus, agent_for: AgentFactory
) -> None:
    store = VictoriaMetrics(tmp_path / "vm-data")  # not started: everything piles up in the buffer
    campus.start()
    agent = agent_for(campus, store.url)
    agent.start()
    buffer_file = agent.config.parent / "state" / "buffer.db"
    wait_for(lambda: buffer_file.exists() and _buffered(buffer_file) >= 20, 30, what="points buffered")
    agent.kill()
    buffered = [
        line
        for line in _buffered_lines(buffer_file)
        if ",device=" in line.split(" ")[0] and not line.startswith(("edge_agent_device,", "asset,"))
    ]
    assert buffered
    store.start()
    try:
        restarted = AgentProcess(agent.config)
        restarted.start()
        wait_for(lambda: _delivered(store) >= len(buffered), 60, what="buffered points delivered")
        campus.stop()
        assert restarted.stop() == 0
        stored = stored_points(store)
        for line in buffered:
            series, fields, ts = line.rsplit(" ", 2)
            device = dict(t.split("=") for t in series.split(",")[1:]).get("device")
            if device is None:
                continue  # the agent's own edge_agent points
            for field in fields.split(","):
                name, value = field.split("=")
                got, _ = stored[(device, name, int(ts))]
                want = 1.0 if value == "true" else 0.0 if value == "false" else float(value)
                assert got == pytest.approx(want, rel=1e-9)  # the store keeps ~12 significant digits
    finally:
        store.stop()


def _buffered(path: Path) -> int:
    try:
        buffer = DiskBuffer(path, [], 10**9, readonly=True)
    except Exception:
        return 0
    try:
        return buffer.stats().points
    finally:
        buffer.close()


def _buffered_lines(path: Path) -> list[str]:
    buffer = DiskBuffer(path, [], 10**9, readonly=True)
    try:
        # The devices' points; the agent's own edge_agent points are tested in tests/service.
        return [line for line in buffer.tail(10**9) if not line.startswith("edge_agent,")]
    finally:
        buffer.close()


def _delivered(store: VictoriaMetrics) -> int:
    return sum(len(ts) for ts in stored_timestamps(store).values())
