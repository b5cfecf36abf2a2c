"""The SNMP driver against the simulated switch and UPS (real SNMP over loopback UDP).

Rates across a Counter32 wrap and a reboot are checked against the values the simulator
actually served; the cost of a walk is counted by the simulator itself.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from campus_core.readings import DeviceError, Reading
from drivers.snmp import SnmpDevice, SnmpDriver
from drivers.snmp.session import POOL
from simulators.snmp import SnmpCampus
from simulators.snmp.switch import WRAP32
from tests.support.ports import free_udp_port

pytestmark = pytest.mark.integration

IF_IN_OCTETS = (1, 3, 6, 1, 2, 1, 2, 2, 1, 10)
PORTS = 48
COLUMNS = 17  # the if-mib profile's columns


def switch_device(port: int, **entry: Any) -> SnmpDevice:
    return SnmpDevice(
        **{
            "name": "switch-1",
            "host": "127.0.0.1",
            "port": port,
            "timeout": "2s",
            "profile": ["system", "if-mib"],
            **entry,
        }
    )


async def simulated(**options: Any) -> SnmpCampus:
    base = free_udp_port()
    campus = SnmpCampus(seed=3, switches=1, ups=1, base_port=base, **options)
    await campus.start()
    return campus


@pytest.fixture
async def campus() -> AsyncIterator[SnmpCampus]:
    sim = await simulated(wrap_after=3.0)
    yield sim
    await sim.stop()


def interfaces(readings: list[Reading]) -> dict[str, dict[str, float]]:
    return {
        dict(r.tags)["if_index"]: dict(r.fields) for r in readings if r.measurement == "network_interface"
    }


def served_octets(campus: SnmpCampus, index: int) -> list[tuple[float, int]]:
    journal = campus.agents["switch-1"].journal or []
    return [(t, int(value[1])) for t, oid, value in journal if oid == (*IF_IN_OCTETS, index)]  # type: ignore[call-overload]


async def test_rates_across_a_counter32_wrap_are_right(campus: SnmpCampus) -> None:
    agent = campus.agents["switch-1"]
    agent.journal = []
    switch = campus.switch("switch-1")
    # The first poll is well inside 3.75 s and the last at least 6 s on: the wrap falls
    # between them however loaded the machine is.
    switch.wrap_in(3.75)
    polls = []
    async with SnmpDriver(switch_device(agent.port)) as driver:
        for _ in range(5):
            polls.append(interfaces(await driver.poll()))
            await asyncio.sleep(1.5)
    uplink = PORTS  # the busiest port
    served = served_octets(campus, uplink)
    assert len(served) == 5  # the 32-bit column is read once per poll (the switch has no ifHC*)
    wrapped = [i for i in range(1, 5) if served[i][1] < served[i - 1][1]]
    assert wrapped, "the uplink's ifInOctets should have wrapped during the test"
    assert "in_bps" not in polls[0][str(uplink)]  # no rate from a first sample
    for i in range(1, 5):
        (t1, c1), (t2, c2) = served[i - 1], served[i]
        expected = ((c2 - c1) % WRAP32) * 8 / (t2 - t1)
        assert polls[i][str(uplink)]["in_bps"] == pytest.approx(expected, rel=0.1), f"poll {i}"
        # And the served counters are the model's: the simulator is the ground truth.
        assert expected == pytest.approx(switch.mean_bps(uplink, "in", t1, t2), rel=1e-3)
    for poll in polls[1:]:
        for index, fields in poll.items():
            if "in_bps" in fields:
                speed = fields["speed_bps"]
                assert 0 <= fields["in_bps"] <= speed and 0 <= fields["out_bps"] <= speed, index


async def test_a_reboot_gives_no_rate_then_right_rates_again(campus: SnmpCampus) -> None:
    agent = campus.agents["switch-1"]
    agent.journal = []
    switch = campus.switch("switch-1")
    async with SnmpDriver(switch_device(agent.port)) as driver:
        await driver.poll()
        await asyncio.sleep(1.0)
        before = interfaces(await driver.poll())
        switch.restart()  # sysUpTime and every counter start again from zero
        await asyncio.sleep(1.0)
        after = interfaces(await driver.poll())
        await asyncio.sleep(1.0)
        again = interfaces(await driver.poll())
    assert driver.stats.restarts == 1
    assert all("in_bps" in before[str(i)] for i in (PORTS - 1, PORTS))
    assert not any("in_bps" in fields or "in_errors_ps" in fields for fields in after.values())
    assert after[str(PORTS)]["oper_status"] == 1.0  # the rest of the row still arrives
    (t1, c1), (t2, c2) = served_octets(campus, PORTS)[-2:]
    assert again[str(PORTS)]["in_bps"] == pytest.approx((c2 - c1) * 8 / (t2 - t1), rel=0.1)
    assert all(fields.get("in_bps", 0.0) >= 0 for fields in again.values())


async def test_a_48_port_walk_costs_a_few_getbulks_not_one_per_cell() -> None:
    campus = await simulated()
    try:
        agent = campus.agents["switch-1"]
        async with SnmpDriver(switch_device(agent.port)) as driver:
            await driver.poll()  # the first poll also finds the switch has no ifHC* columns
            agent.requests.clear()
            readings = await driver.poll()
        rows = interfaces(readings)
        assert len(rows) == PORTS
        assert dict(agent.requests) == {"get": 1, "getbulk": 2}  # 48 rows x 17 columns in two answers
        assert agent.varbinds_served >= PORTS * COLUMNS
        assert rows["1"].keys() >= {"oper_status", "admin_status", "speed_bps"}
    finally:
        await campus.stop()


async def test_with_small_answers_a_walk_still_costs_far_less_than_a_request_per_row() -> None:
    campus = await simulated(max_size=1472)  # an agent that answers in one Ethernet frame
    try:
        agent = campus.agents["switch-1"]
        async with SnmpDriver(switch_device(agent.port)) as driver:
            await driver.poll()
            agent.requests.clear()
            assert len(interfaces(await driver.poll())) == PORTS
        assert agent.requests["getbulk"] < PORTS // 2
    finally:
        await campus.stop()


async def test_snmpv1_walks_with_getnext_and_reads_the_32_bit_counters() -> None:
    campus = await simulated(hc=True)  # v1 cannot see the ifHC* columns even where they exist
    try:
        agent = campus.agents["switch-1"]
        async with SnmpDriver(switch_device(agent.port, version="1")) as driver:
            await driver.poll()
            await asyncio.sleep(0.5)
            agent.requests.clear()
            rows = interfaces(await driver.poll())
        assert len(rows) == PORTS and rows[str(PORTS)]["in_bps"] > 0
        assert set(agent.requests) == {"get", "getnext"}
        # One row per request, then the end: SNMPv1 says noSuchName past the MIB's last
        # object, which costs one more request for the columns still open.
        assert PORTS < agent.requests["getnext"] <= PORTS + 2
    finally:
        await campus.stop()


async def test_a_switch_with_64_bit_counters_is_read_through_them() -> None:
    campus = await simulated(hc=True)
    try:
        agent = campus.agents["switch-1"]
        agent.journal = []
        async with SnmpDriver(switch_device(agent.port)) as driver:
            await driver.poll()
            await asyncio.sleep(0.5)
            rows = interfaces(await driver.poll())
        assert rows[str(PORTS)]["in_bps"] > 0
        hc_in = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)
        assert any(oid[:-1] == hc_in for _, oid, _ in agent.journal)
        assert not any(oid[:-1] == IF_IN_OCTETS for _, oid, _ in agent.journal)
    finally:
        await campus.stop()


async def test_the_ups_profile_reads_every_field(campus: SnmpCampus) -> None:
    ups = campus.agents["ups-1"]
    entry = SnmpDevice(name="ups-1", host="127.0.0.1", port=ups.port, profile=["system", "ups-mib"])
    async with SnmpDriver(entry) as driver:
        readings = {r.measurement: r for r in await driver.poll()}
    point = readings["ups"]
    fields, tags = dict(point.fields), dict(point.tags)
    state = campus.ups("ups-1").state(campus.ups("ups-1").clock())
    assert fields["battery_charge_pct"] == pytest.approx(state.charge_pct, abs=1.5)
    assert fields["output_source"] == (5.0 if state.on_battery else 3.0)
    assert tags["power_source"] == ("battery" if state.on_battery else "normal")
    assert tags["battery_state"] in ("batteryNormal", "batteryLow")
    assert {"battery_runtime_min", "input_voltage_v", "output_load_pct", "battery_status"} <= fields.keys()
    assert readings["network_device"].tags[0] == ("sys_name", "ups-1")


async def test_an_unreachable_device_costs_its_own_timeout_and_shares_the_one_socket(
    campus: SnmpCampus,
) -> None:
    agent = campus.agents["switch-1"]
    silent = free_udp_port()  # nothing answers there
    sockets_before = _udp_sockets()
    good = SnmpDriver(SnmpDevice(name="sys", host="127.0.0.1", port=agent.port, profile="system"))
    devices = [
        SnmpDriver(SnmpDevice(name=f"d{i}", host="127.0.0.1", port=agent.port, profile="system"))
        for i in range(100)
    ]
    bad = SnmpDriver(
        SnmpDevice(name="gone", host="127.0.0.1", port=silent, profile="system", timeout="4s", retries=0)
    )
    async with good, bad:
        waiting = asyncio.create_task(bad.poll())
        for _ in range(3):
            assert await good.poll()
        assert not waiting.done()  # the others were answered while it still waits
        await asyncio.gather(*(d.poll() for d in devices))
        assert POOL.engines() == 1
        assert _udp_sockets() - sockets_before <= 1  # one socket for 102 devices
        with pytest.raises(DeviceError, match=r"no answer from 127\.0\.0\.1:.*is the community right"):
            await waiting
        for d in devices:
            await d.__aexit__(None, None, None)
    assert POOL.engines() == 0


def _udp_sockets() -> int:
    fds = os.listdir("/proc/self/fd")
    links = []
    for fd in fds:
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return sum(link.startswith("socket:") for link in links)


@pytest.mark.parametrize("version", ["1", "2c"])
async def test_an_oid_the_device_lacks_is_left_out_and_the_rest_still_read(
    campus: SnmpCampus, version: str
) -> None:
    agent = campus.agents["switch-1"]
    entry = SnmpDevice(
        name="switch-1",
        host="127.0.0.1",
        port=agent.port,
        version=version,
        measurement="network_device",
        fields=[
            {"name": "uptime_s", "oid": "sysUpTime"},
            # A switch has no HOST-RESOURCES-MIB.
            {"name": "processes", "oid": "HOST-RESOURCES-MIB::hrSystemProcesses"},
            {"name": "interfaces", "oid": "IF-MIB::ifNumber"},
        ],
    )
    async with SnmpDriver(entry) as driver:
        (first,) = await driver.poll()
        (second,) = await driver.poll()
    assert [name for name, _ in first.fields] == ["uptime_s", "interfaces"]
    assert dict(second.fields)["interfaces"] == float(PORTS)
    assert driver.stats.unreadable == 2  # v1 noSuchName, v2c noSuchObject: counted each poll
    assert len(driver.stats.logged) == 1  # and logged once


async def test_a_get_too_big_for_the_agent_is_split() -> None:
    campus = await simulated(max_size=400)
    try:
        agent = campus.agents["switch-1"]
        fields = [{"name": f"descr_{i}", "oid": f"IF-MIB::ifDescr.{i}", "tag": True} for i in range(1, 31)]
        fields.append({"name": "uptime_s", "oid": "sysUpTime"})
        entry = SnmpDevice(
            name="switch-1", host="127.0.0.1", port=agent.port, measurement="ports", fields=fields
        )
        async with SnmpDriver(entry) as driver:
            (point,) = await driver.poll()
        assert len(point.tags) == 30 and dict(point.tags)["descr_30"] == "GigabitEthernet1/0/30"
        assert agent.requests["get"] > 1  # tooBig, then halves until each answer fits
    finally:
        await campus.stop()


async def test_the_agent_only_ever_reads() -> None:
    """Every request the simulated switch and UPS saw over several polls is a read: no SET."""
    campus = await simulated()
    try:
        for name, profile in (("switch-1", ["system", "if-mib"]), ("ups-1", ["system", "ups-mib"])):
            agent = campus.agents[name]
            device = SnmpDevice(name=name, host="127.0.0.1", port=agent.port, timeout="2s", profile=profile)
            async with SnmpDriver(device) as driver:
                for _ in range(3):
                    await driver.poll()
            assert sum(agent.requests.values()) >= 3
            assert set(agent.requests) <= {"get", "getnext", "getbulk"}, agent.requests
    finally:
        await campus.stop()
