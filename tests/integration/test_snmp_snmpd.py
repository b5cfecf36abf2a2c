"""The SNMP driver against a real net-snmp snmpd: every version and security combination.

What the driver reads is compared with what net-snmp's own ``snmpget``/``snmpwalk`` read
from the same agent, so the OIDs, the conversions and the walks are checked by a second,
independent implementation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campus_core.readings import DeviceError, Reading
from drivers.snmp import SnmpDevice, SnmpDriver
from tests.support.snmpd import COMMUNITY, SYS_LOCATION, SYS_NAME, USERS, Snmpd

pytestmark = pytest.mark.integration

SYSTEM = "1.3.6.1.2.1.1"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
STORAGE = "1.3.6.1.2.1.25.2.3.1"


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    server = Snmpd(tmp_path_factory.mktemp("snmpd"))
    server.start()
    yield server
    server.stop()


def entry(snmpd: Snmpd, **settings: Any) -> SnmpDevice:
    return SnmpDevice(
        **{
            "name": "snmpd",
            "host": "127.0.0.1",
            "port": snmpd.port,
            "timeout": "2s",
            "retries": 0,
            "profile": ["system"],
            **settings,
        }
    )


def v3_entry(snmpd: Snmpd, tmp_path: Path, user: str, **settings: Any) -> SnmpDevice:
    spec = USERS[user]
    keys: dict[str, Any] = {"version": "3", "user": user}
    if spec.auth:
        (tmp_path / "auth").write_text(f"{spec.auth_key}\n")
        keys.update(auth=spec.auth, auth_key_file=tmp_path / "auth")
    if spec.priv:
        (tmp_path / "priv").write_text(f"{spec.priv_key}\n")
        keys.update(priv=spec.priv, priv_key_file=tmp_path / "priv")
    return entry(snmpd, **{**keys, **settings})


async def poll(device: SnmpDevice, times: int = 1) -> list[Reading]:
    async with SnmpDriver(device) as driver:
        readings: list[Reading] = []
        for _ in range(times):
            readings = await driver.poll()
        return readings


def by_measurement(readings: list[Reading]) -> dict[str, list[Reading]]:
    out: dict[str, list[Reading]] = {}
    for reading in readings:
        out.setdefault(reading.measurement or "", []).append(reading)
    return out


async def test_v2c_system_values_match_snmpget(snmpd: Snmpd) -> None:
    (point,) = await poll(entry(snmpd))
    tags, fields = dict(point.tags), dict(point.fields)
    reference = snmpd.get(f"{SYSTEM}.5.0", f"{SYSTEM}.1.0", f"{SYSTEM}.3.0", f"{SYSTEM}.2.0")
    assert point.measurement == "network_device"
    assert tags["sys_name"] == SYS_NAME == reference[f"{SYSTEM}.5.0"]
    assert tags["sys_location"] == SYS_LOCATION
    assert tags["sys_descr"] == reference[f"{SYSTEM}.1.0"]
    assert reference[f"{SYSTEM}.2.0"] == ".1.3.6.1.4.1.8072.3.2.10"
    assert tags["sys_object_id"] == "enterprises.8072.3.2.10"
    assert fields["uptime_s"] == pytest.approx(int(reference[f"{SYSTEM}.3.0"]) / 100, abs=3)


async def test_v2c_interface_table_matches_snmpwalk(snmpd: Snmpd) -> None:
    readings = await poll(entry(snmpd, profile=["if-mib"]), times=2)
    rows = {dict(r.tags)["if_index"]: r for r in readings}
    walked = snmpd.walk(IF_ENTRY)
    names = snmpd.walk("1.3.6.1.2.1.31.1.1.1.1")
    indexes = sorted(oid.rsplit(".", 1)[1] for oid in walked if oid.startswith(f"{IF_ENTRY}.2."))
    assert sorted(rows) == indexes and "1" in rows
    for index, row in rows.items():
        tags, fields = dict(row.tags), dict(row.fields)
        assert tags["if_descr"] == walked[f"{IF_ENTRY}.2.{index}"]
        assert tags["if_name"] == names[f"1.3.6.1.2.1.31.1.1.1.1.{index}"]
        assert fields["oper_status"] == float(walked[f"{IF_ENTRY}.8.{index}"])
        status = walked[f"{IF_ENTRY}.8.{index}"]
        assert tags["oper_state"] == {"1": "up", "2": "down"}.get(status, tags["oper_state"])
        assert fields["in_bps"] >= 0 and fields["out_errors_ps"] >= 0  # the second poll has rates
    loopback = dict(rows["1"].tags)
    assert loopback["if_type"] == "softwareLoopback"
    assert "if_alias" not in loopback  # an empty ifAlias is no tag at all


async def test_v1_reads_the_same_rows_with_getnext(snmpd: Snmpd) -> None:
    device = entry(snmpd, version="1", profile=["if-mib"])
    async with SnmpDriver(device) as driver:
        readings = await driver.poll()
        requests = driver.requests
    assert "getbulk" not in requests and requests["getnext"] > 1
    walked = snmpd.walk(IF_ENTRY)
    descrs = {dict(r.tags)["if_index"]: dict(r.tags)["if_descr"] for r in readings}
    assert descrs == {
        oid.rsplit(".", 1)[1]: value for oid, value in walked.items() if oid.startswith(f"{IF_ENTRY}.2.")
    }


async def test_host_resources_storage_matches_snmpwalk(snmpd: Snmpd) -> None:
    points = by_measurement(await poll(entry(snmpd, profile=["host-resources"])))
    walked = snmpd.walk(STORAGE)
    assert points["host"][0].fields  # uptime, processes, memory
    storage = {dict(r.tags)["storage_index"]: r for r in points["host_storage"]}
    assert storage
    for index, row in storage.items():
        fields, tags = dict(row.fields), dict(row.tags)
        units = int(walked[f"{STORAGE}.4.{index}"])
        assert tags["storage_descr"] == walked[f"{STORAGE}.3.{index}"]
        assert tags["storage_type"].startswith("hrStorage")
        size = int(walked[f"{STORAGE}.5.{index}"]) * units
        if size:
            assert fields["size_bytes"] == size
            assert 0 <= fields["used_pct"] <= 100


@pytest.mark.parametrize("user", sorted(USERS))
async def test_v3_every_security_combination(snmpd: Snmpd, tmp_path: Path, user: str) -> None:
    device = v3_entry(snmpd, tmp_path, user)
    (point,) = await poll(device)
    assert dict(point.tags)["sys_name"] == SYS_NAME
    assert (
        device.security_level
        == {"priv": "authPriv", "auth": "authNoPriv", "noauth": "noAuthNoPriv"}[USERS[user].level]
    )


async def test_v3_reads_tables_too(snmpd: Snmpd, tmp_path: Path) -> None:
    readings = await poll(v3_entry(snmpd, tmp_path, "edgev3", profile=["if-mib"]))
    assert len(readings) == len(snmpd.walk(f"{IF_ENTRY}.1"))


async def test_a_wrong_community_is_a_clear_timeout(snmpd: Snmpd) -> None:
    with pytest.raises(DeviceError) as caught:
        await poll(entry(snmpd, community="not-public", timeout="500ms"))
    reason = caught.value.reason
    assert f"no answer from 127.0.0.1:{snmpd.port} (1 try of 0.5s)" in reason
    assert "is the community right" in reason


async def test_a_wrong_v3_auth_key_says_so(snmpd: Snmpd, tmp_path: Path) -> None:
    device = v3_entry(snmpd, tmp_path, "edgev3")
    (tmp_path / "auth").write_text("not-the-key\n")  # read when the driver starts, not at config load
    with pytest.raises(DeviceError, match="rejects the authentication of SNMPv3 user 'edgev3': wrong auth"):
        await poll(device)


async def test_an_unknown_v3_user_says_so(snmpd: Snmpd, tmp_path: Path) -> None:
    (tmp_path / "auth").write_text("authpass123\n")
    device = entry(snmpd, version="3", user="nobody", auth="sha", auth_key_file=tmp_path / "auth")
    with pytest.raises(DeviceError, match="does not know SNMPv3 user 'nobody'"):
        await poll(device)


async def test_a_wrong_v3_priv_key_is_a_timeout_that_names_priv(snmpd: Snmpd, tmp_path: Path) -> None:
    device = v3_entry(snmpd, tmp_path, "edgev3", timeout="500ms")
    (tmp_path / "priv").write_text("not-the-priv-key\n")
    with pytest.raises(DeviceError, match="is priv right"):
        await poll(device)


async def test_a_short_passphrase_names_its_file(snmpd: Snmpd, tmp_path: Path) -> None:
    device = v3_entry(snmpd, tmp_path, "edgev3")
    (tmp_path / "auth").write_text("short\n")
    with pytest.raises(DeviceError, match=r"auth_key_file .*/auth' holds a passphrase of 5 characters"):
        await poll(device)


async def test_a_community_from_a_file(snmpd: Snmpd, tmp_path: Path) -> None:
    (tmp_path / "community").write_text(f"{COMMUNITY}\n")
    (point,) = await poll(entry(snmpd, community_file=tmp_path / "community"))
    assert dict(point.tags)["sys_name"] == SYS_NAME
