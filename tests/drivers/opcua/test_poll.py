"""Polling simulated OPC UA machines: one Read for many nodes, quality, unknown nodes, faults."""

from __future__ import annotations

import asyncio

import pytest
from asyncua import ua

from campus_core.readings import DeviceError
from drivers.opcua import OpcuaDriver
from simulators.opcua import OpcuaMachine

from .machines import cnc, from_profile, port

CNC_FIELDS = [
    "running",
    "alarm",
    "alarm_code",
    "spindle_rpm",
    "spindle_load_pct",
    "feed_override_pct",
    "run_time_h",
    "parts_count",
]


async def test_a_cnc_machine_is_read_in_one_request_per_poll() -> None:
    async with OpcuaMachine("cnc-1", "cnc", port()) as machine:
        driver = OpcuaDriver(cnc("cnc-1", machine.url))
        async with driver:
            (reading,) = await driver.poll()
            served = len(machine.reads)
            (again,) = await driver.poll()
        assert [name for name, _ in reading.fields] == CNC_FIELDS
        assert reading.tags == (("program", machine.values(0)["program"]),) or reading.tags[0][0] == "program"
        assert machine.reads[served:] == [9]  # the second poll: one Read of all nine nodes
        assert driver.stats.connects == 1 and again.time_ms >= reading.time_ms
        fields = dict(reading.fields)
        assert isinstance(fields["running"], bool) and isinstance(fields["run_time_h"], float)
        assert fields["run_time_h"] > 100
        assert machine.writes == 0


async def test_a_plc_rig_is_found_by_its_namespace_uri() -> None:
    async with OpcuaMachine("rig-1", "plc-rig", port()) as machine:
        driver = OpcuaDriver(from_profile("rig-1", machine.url, "opcua-plc-rig"))
        async with driver:
            (reading,) = await driver.poll()
        assert dict(reading.fields)["state_code"] in (1.0, 2.0, 3.0)
        assert len(reading.fields) == 10 and reading.tags[0][0] == "program"


async def test_the_servers_max_nodes_per_read_splits_the_read() -> None:
    async with OpcuaMachine("cnc-1", "cnc", port(), max_nodes_per_read=4) as machine:
        driver = OpcuaDriver(cnc("cnc-1", machine.url))
        async with driver:
            await driver.poll()
            served = len(machine.reads)
            (reading,) = await driver.poll()
        assert driver.read_limit == 4
        assert machine.reads[served:] == [4, 4, 1]
        assert len(reading.fields) == 8


async def test_a_server_that_refuses_a_large_read_without_saying_its_limit_is_read_in_halves() -> None:
    async with OpcuaMachine("cnc-1", "cnc", port()) as machine:
        machine.max_nodes_per_read = 3  # enforced from now on, never advertised
        driver = OpcuaDriver(cnc("cnc-1", machine.url))
        async with driver:
            (reading,) = await driver.poll()
            served = len(machine.reads)
            await driver.poll()
        assert len(reading.fields) == 8
        assert driver.read_limit == 2 and machine.reads[served:] == [2, 2, 2, 2, 1]


async def test_a_bad_node_is_left_out_and_counted_uncertain_is_kept_and_counted() -> None:
    async with OpcuaMachine("cnc-1", "cnc", port()) as machine:
        driver = OpcuaDriver(cnc("cnc-1", machine.url))
        async with driver:
            await driver.poll()
            machine.set_bad("spindle_rpm")
            machine.set_status("run_time_h", ua.StatusCodes.UncertainLastUsableValue)
            await asyncio.sleep(0.5)
            (reading,) = await driver.poll()
            assert "spindle_rpm" not in dict(reading.fields)
            assert "run_time_h" in dict(reading.fields)
            assert driver.stats.bad == 1 and driver.stats.uncertain == 1
            assert driver.stats.bad_by_status == {"BadSensorFailure": 1}
            machine.set_bad("spindle_rpm", False)
            await asyncio.sleep(0.5)
            (reading,) = await driver.poll()
            assert "spindle_rpm" in dict(reading.fields)


async def test_an_unknown_node_is_named_once_and_the_others_are_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with OpcuaMachine("cnc-1", "cnc", port()) as machine:
        config = cnc("cnc-1", machine.url)
        typo = "Monitoring/Spindel/ActualSpeed"
        nodes = [
            *config.nodes,
            config.nodes[0].model_copy(update={"field": "typo_rpm", "path": typo}),
            config.nodes[0].model_copy(
                update={"field": "gone", "path": None, "node": "ns=2;s=cnc-1.NoSuchNode"}
            ),
        ]
        driver = OpcuaDriver(config.model_copy(update={"nodes": nodes}))
        async with driver:
            (reading,) = await driver.poll()
            await driver.poll()
        assert [name for name, _ in reading.fields] == CNC_FIELDS
        err = capsys.readouterr().out
        assert err.count("node not on the server") == 2  # once each, not every poll
        assert "Spindel" in err and "there: " in err and "Spindle" in err
        assert "BadNodeIdUnknown" in err and "edge-agent scan opcua" in err


async def test_nothing_known_fails_the_poll_naming_the_fix() -> None:
    async with OpcuaMachine("rig-1", "plc-rig", port()) as machine:
        driver = OpcuaDriver(cnc("rig-1", machine.url))
        async with driver:
            with pytest.raises(DeviceError) as caught:
                await driver.poll()
        assert "none of the 9 configured nodes exists" in str(caught.value)
        assert "rig-1" in str(caught.value)


async def test_a_wrong_port_is_named() -> None:
    driver = OpcuaDriver(cnc("cnc-1", f"opc.tcp://127.0.0.1:{port()}"))
    async with driver:
        with pytest.raises(DeviceError) as caught:
            await driver.poll()
    assert "connection refused" in caught.value.reason and "port of url" in caught.value.reason


async def test_a_restarted_server_is_read_again_on_a_new_session() -> None:
    machine = OpcuaMachine("cnc-1", "cnc", port())
    await machine.start()
    driver = OpcuaDriver(cnc("cnc-1", machine.url))
    try:
        async with driver:
            await driver.poll()
            await machine.stop()
            with pytest.raises(DeviceError):
                await driver.poll()
            await machine.start()
            (reading,) = await driver.poll()
        assert len(reading.fields) == 8 and driver.stats.connects == 2
    finally:
        await machine.stop()


async def test_a_server_that_stops_answering_times_out_and_is_read_again_later() -> None:
    async with OpcuaMachine("cnc-1", "cnc", port()) as machine:
        driver = OpcuaDriver(cnc("cnc-1", machine.url, timeout=1.0))
        async with driver:
            await driver.poll()
            machine.silent = True
            await asyncio.sleep(0.5)
            with pytest.raises(DeviceError) as caught:
                await driver.poll()
            assert "no answer" in caught.value.reason or "lost" in caught.value.reason
            machine.silent = False
            await machine.stop()
            await machine.start()
            (reading,) = await driver.poll()
        assert len(reading.fields) == 8
