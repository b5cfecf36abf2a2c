"""SNMP the whole way: snmpd (SNMPv3 authPriv) and the simulated switch and UPS -> edge-agent
run -> VictoriaMetrics, checked against what ``snmpwalk`` reads from the same agent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import AgentProcess, cli, wait_for
from tests.support.snmpd import SYS_NAME, USERS, SimulatedSnmp, Snmpd
from tests.support.victoriametrics import VictoriaMetrics

pytestmark = pytest.mark.integration

IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"

Series = dict[tuple[str, frozenset[tuple[str, str]]], dict[int, float]]


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[Snmpd]:
    server = Snmpd(tmp_path / "snmpd")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def simulated(tmp_path: Path) -> Iterator[SimulatedSnmp]:
    sim = SimulatedSnmp(tmp_path / "sim", 1, 1)
    sim.start()
    yield sim
    sim.stop()


def write_config(tmp_path: Path, store: VictoriaMetrics, snmpd: Snmpd, simulated: SimulatedSnmp) -> Path:
    user = USERS["edgev3"]
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "auth").write_text(f"{user.auth_key}\n")
    (secrets / "priv").write_text(f"{user.priv_key}\n")
    directory = tmp_path / "agent"
    directory.mkdir()
    config = directory / "agent.toml"
    config.write_text(f"""
[agent]
school = "sh-test"
interval = "1s"
state_dir = "state"

[buffer]
flush_interval = "200ms"

[log]
level = "debug"
format = "json"

[[sinks.influxdb]]
url = "{store.url}"
bucket = "campus"
token = "test-token"
retry_max = "2s"

[[devices.snmp]]
name = "gateway-snmpd"
host = "127.0.0.1"
port = {snmpd.port}
version = "3"
user = "edgev3"
auth = "sha"
auth_key_file = "{secrets / "auth"}"
priv = "aes128"
priv_key_file = "{secrets / "priv"}"
profile = ["system", "if-mib"]
tags = {{ building = "A", room = "server" }}

{simulated.config()}
""")
    return config


def labels_of(series: Series, metric: str) -> list[dict[str, str]]:
    return [dict(labels) for (name, labels) in series if name == metric]


def values_of(series: Series, metric: str, **match: str) -> list[float]:
    out: list[float] = []
    for (name, labels), values in series.items():
        if name == metric and match.items() <= dict(labels).items():
            out += [values[t] for t in sorted(values)]
    return out


def test_snmp_readings_reach_the_store_as_snmpwalk_reads_them(
    tmp_path: Path, store: VictoriaMetrics, snmpd: Snmpd, simulated: SimulatedSnmp
) -> None:
    config = write_config(tmp_path, store, snmpd, simulated)
    check = cli("check", str(config))
    assert check.returncode == 0, check.stderr
    assert "v3 user edgev3 authPriv (sha/aes128, keys from files)" in check.stdout
    assert str(USERS["edgev3"].auth_key) not in check.stdout  # never a secret on screen
    agent = AgentProcess(config)
    agent.start()
    try:

        def enough() -> bool:
            series = store.points('{school="sh-test"}')
            return (
                len(values_of(series, "network_interface_in_bps", device="switch-1", if_index="48")) >= 3
                and bool(values_of(series, "ups_battery_charge_pct"))
                and bool(values_of(series, "network_interface_in_bps", device="gateway-snmpd"))
            )

        wait_for(enough, 60, what="SNMP points in the store")
    finally:
        assert agent.stop() == 0
    series = store.points('{school="sh-test"}')

    # snmpd over SNMPv3: names and numbers as net-snmp's own snmpwalk reads them.
    (system,) = [
        labels
        for labels in labels_of(series, "network_device_uptime_s")
        if labels["device"] == "gateway-snmpd"
    ]
    assert system["sys_name"] == SYS_NAME and system["building"] == "A" and system["campus"] == "main"
    walked = snmpd.walk(IF_ENTRY)
    high_speed = snmpd.walk(f"{IFX_ENTRY}.15")
    rows = [
        labels
        for labels in labels_of(series, "network_interface_oper_status")
        if labels["device"] == "gateway-snmpd"
    ]
    indexes = {oid.rsplit(".", 1)[1] for oid in walked if oid.startswith(f"{IF_ENTRY}.1.")}
    assert {row["if_index"] for row in rows} == indexes
    for row in rows:
        index = row["if_index"]
        assert row["if_descr"] == walked[f"{IF_ENTRY}.2.{index}"]
        where = {"device": "gateway-snmpd", "if_index": index}
        statuses = set(values_of(series, "network_interface_oper_status", **where))
        assert statuses == {float(walked[f"{IF_ENTRY}.8.{index}"])}
        speeds = set(values_of(series, "network_interface_speed_bps", **where))
        assert speeds == {float(high_speed[f"{IFX_ENTRY}.15.{index}"]) * 1e6}

    # The simulated switch: a rate per port, never negative, never above the port's speed.
    uplink = values_of(series, "network_interface_in_bps", device="switch-1", if_index="48")
    assert all(0 < bps < 10e9 for bps in uplink)
    (port,) = [
        labels
        for labels in labels_of(series, "network_interface_in_bps")
        if labels["device"] == "switch-1" and labels["if_index"] == "48"
    ]
    assert port["if_name"] == "Te1/0/2" and port["oper_state"] == "up"
    assert port["if_alias"] == "uplink 2 to core"

    # The UPS: its numbers, and its states as tags.
    charge = values_of(series, "ups_battery_charge_pct", device="ups-1")
    assert all(0 <= c <= 100 for c in charge)
    ups = labels_of(series, "ups_battery_charge_pct")
    assert ups and all(labels["power_source"] in ("normal", "battery") for labels in ups)
    assert all(labels["ups_model"] == "SP-3000" and labels["room"] == "closet-1" for labels in ups)
