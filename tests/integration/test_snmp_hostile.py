"""Hostile SNMP answers from an agent the test runs: a walk that loops back on itself, and
values of a type the MIB does not allow. Each is rejected and counted; the poll returns."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from drivers.snmp import SnmpDevice, SnmpDriver
from simulators.snmp import ber
from simulators.snmp.agent import SimulatedAgent
from simulators.snmp.switch import Switch
from tests.support.ports import free_udp_port

pytestmark = pytest.mark.integration

IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)


class LoopingAgent(SimulatedAgent):
    """In ifTable, answers every step past row 5 of a column with row 3 again: a walk loop."""

    def _next_after(self, oid: Any, now: float, request: Any) -> Any:
        found = super()._next_after(oid, now, request)
        if found is not None and oid[:9] == IF_ENTRY and len(oid) == 11 and oid[-1] >= 5:
            return (*oid[:-1], 3), found[1]
        return found


class WrongTypeAgent(SimulatedAgent):
    """Serves sysUpTime (TimeTicks) as an OCTET STRING."""

    def _value(self, oid: Any, now: float) -> Any:
        value = super()._value(oid, now)
        if oid == (1, 3, 6, 1, 2, 1, 1, 3, 0):
            return (ber.OCTET_STRING, b"not a number")
        return value


async def poll_twice(agent_class: type[SimulatedAgent], version: str, **entry: Any) -> tuple[Any, Any]:
    port = free_udp_port()
    agent = agent_class(Switch("switch-1", 7, ports=8, location="lab", clock=time.time), "127.0.0.1", port)
    await agent.start()
    try:
        device = SnmpDevice(
            name="switch-1",
            host="127.0.0.1",
            port=port,
            timeout="2s",
            version=version,
            profile=["system", "if-mib"],
            **entry,
        )
        async with SnmpDriver(device) as driver:
            first = await asyncio.wait_for(driver.poll(), 20)
            await asyncio.wait_for(driver.poll(), 20)
        return first, driver.stats
    finally:
        agent.close()


@pytest.mark.parametrize("version", ["1", "2c"])
async def test_a_walk_that_loops_is_cut_and_counted(version: str) -> None:
    readings, stats = await poll_twice(LoopingAgent, version)
    assert stats.not_increasing > 0
    rows = {dict(r.tags).get("if_index") for r in readings if dict(r.tags).get("if_index")}
    assert {"1", "2", "3", "4", "5"} <= rows  # what came before the loop is kept


async def test_a_value_of_the_wrong_type_is_left_out() -> None:
    readings, _ = await poll_twice(WrongTypeAgent, "2c")
    system = [dict(r.fields) for r in readings if "uptime_s" in dict(r.fields) or r.measurement == "system"]
    assert all("uptime_s" not in fields for fields in system)
    assert any(r.tags for r in readings)  # the interface rows still arrive


async def test_a_table_far_larger_than_configured_is_cut_at_the_row_limit() -> None:
    # An 8-port switch answers twice the rows this device entry allows.
    readings, stats = await poll_twice(SimulatedAgent, "2c", max_rows=4)
    assert stats.truncated > 0
    rows = {dict(r.tags).get("if_index") for r in readings if dict(r.tags).get("if_index")}
    assert 0 < len(rows) <= 4
