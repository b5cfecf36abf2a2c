"""The [[devices.snmp]] config: profiles, inline fields and tables, security, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from drivers.snmp.config import SnmpDevice
from edge_agent.config import ConfigError, load

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "drivers" / "snmp" / "sample.toml"


def device(**entry: Any) -> SnmpDevice:
    return SnmpDevice(**{"name": "sw-1", "host": "10.31.0.2", **entry})


def error_of(**entry: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        device(**entry)
    return str(caught.value)


def load_config(tmp_path: Path, devices: str) -> Any:
    config = tmp_path / "agent.toml"
    config.write_text('[agent]\nschool = "sh-031"\n' + devices)
    return load(config).config


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    auth, priv = tmp_path / "auth.key", tmp_path / "priv.key"
    auth.write_text("authpass123\n")
    priv.write_text("privpass123\n")
    return auth, priv


def test_a_list_of_profiles_adds_up_their_fields_and_tables() -> None:
    switch = device(profile=["system", "if-mib"])
    assert [f.name for f in switch.fields][:2] == ["uptime_s", "sys_name"]
    assert [t.measurement for t in switch.tables] == ["network_interface"]
    assert switch.measurements == ["network_device", "network_interface"]
    columns = {c.name: c for c in switch.tables[0].columns}
    assert columns["in_bps"].rate and columns["in_bps"].scale == 8.0
    assert columns["in_bps"].fallback_resolved is not None
    assert columns["oper_state"].tag and columns["oper_state"].conversion == "name"
    assert columns["oper_status"].conversion == "number"


def test_the_loader_applies_one_profile_and_a_list_alike(tmp_path: Path) -> None:
    config = load_config(
        tmp_path,
        """
[[devices.snmp]]
name = "ups-1"
host = "10.31.0.40"
profile = "ups-mib"
tags = { room = "closet" }

[[devices.snmp]]
name = "sw-1"
host = "10.31.0.2"
profile = ["system", "if-mib", "host-resources"]
""",
    )
    ups, switch = config.devices.snmp
    assert {f.name for f in ups.fields} >= {
        "battery_charge_pct",
        "battery_runtime_min",
        "input_voltage_v",
        "output_load_pct",
        "battery_status",
    }
    assert ups.tags == {"room": "closet"}
    assert [t.measurement for t in switch.tables] == ["network_interface", "host_cpu", "host_storage"]
    assert "network_device" in switch.measurements and "host" in switch.measurements


def test_every_bundled_snmp_profile_loads_on_its_own(tmp_path: Path) -> None:
    for profile in ("system", "if-mib", "host-resources", "ups-mib"):
        entry = f'[[devices.snmp]]\nname = "d"\nhost = "10.0.0.1"\nprofile = "{profile}"\n'
        (snmp,) = load_config(tmp_path, entry).devices.snmp
        assert snmp.fields or snmp.tables, profile


def test_inline_fields_and_tables() -> None:
    nas = device(
        measurement="host",
        fields=[
            {"name": "uptime_s", "oid": "HOST-RESOURCES-MIB::hrSystemUptime"},
            {"name": "sys_name", "oid": "1.3.6.1.2.1.1.5.0", "tag": True},
        ],
        tables=[
            {
                "measurement": "host_storage",
                "index_tag": "storage_index",
                "columns": [
                    {"name": "used_pct", "oid": "hrStorageUsed", "divide_by": "hrStorageSize", "scale": 100},
                ],
            }
        ],
    )
    uptime, name = nas.fields
    assert uptime.resolved.oid == (1, 3, 6, 1, 2, 1, 25, 1, 1, 0)  # a scalar's instance .0 is added
    assert uptime.conversion == "seconds"
    assert name.conversion == "text"
    assert nas.tables[0].columns[0].divide_resolved is not None


def test_sample_config_loads(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    auth, priv = keys
    community = tmp_path / "community"
    community.write_text("s3cret-community\n")
    text = (
        SAMPLE.read_text()
        .replace("/etc/edge-agent/secrets/snmp-auth", str(auth))
        .replace("/etc/edge-agent/secrets/snmp-priv", str(priv))
        .replace("/etc/edge-agent/secrets/snmp-community", str(community))
    )
    core, ups, nas = load_config(tmp_path, text).devices.snmp
    assert core.security_level == "authPriv" and core.auth == "sha256"
    assert ups.community_file == community
    assert [c.name for c in nas.tables[0].columns] == ["storage_descr", "used_bytes", "used_pct"]


def test_describe_says_where_secrets_come_from_never_what_they_are(keys: tuple[Path, Path]) -> None:
    auth, priv = keys
    inline = device(community="s3cret", profile="system")
    assert "s3cret" not in inline.describe() and "s3cret" not in repr(inline)
    assert "inline community" in inline.describe()
    v3 = device(
        version="3",
        user="edge",
        auth="sha",
        auth_key_file=auth,
        priv="aes128",
        priv_key_file=priv,
        profile=["system", "if-mib"],
    )
    text = v3.describe()
    assert "authpass123" not in text and "privpass123" not in text
    assert "v3 user edge authPriv (sha/aes128, keys from files)" in text
    assert "17 columns by GETBULK" in text


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"version": "3", "profile": "system"}, "SNMPv3 needs user"),
        ({"version": "3", "user": "u", "priv": "des", "profile": "system"}, "priv needs auth"),
        ({"version": "3", "user": "u", "auth": "sha", "profile": "system"}, "auth needs auth_key_file"),
        (
            {"version": "3", "user": "u", "community": "x", "profile": "system"},
            "community is for versions 1 and 2c",
        ),
        ({"user": "u", "profile": "system"}, "SNMPv3 settings on a version 2c device"),
        ({"community": "a", "community_file": "/etc/hostname", "profile": "system"}, "not both"),
        ({"version": 2, "profile": "system"}, 'write version = "2c"'),
        ({"version": "2", "profile": "system"}, "'1', '2c' or '3'"),
        ({"auth": "sha1", "version": "3", "user": "u", "profile": "system"}, "'md5', 'sha', 'sha224'"),
        ({"community_file": "/nonexistent/community", "profile": "system"}, "does not exist"),
        ({}, "nothing to read"),
        ({"profile": ["system", "if-mibb"]}, "did you mean 'if-mib'"),
        ({"fields": [{"name": "up", "oid": "sysUpTime"}]}, "has no measurement"),
        ({"measurement": "m", "fields": [{"name": "d", "oid": "ifDescr"}]}, "is a table column"),
        ({"measurement": "m", "fields": [{"name": "s", "oid": "sysName"}]}, "text goes into tags"),
        (
            {"measurement": "m", "fields": [{"name": "s", "oid": "sysUpTime", "rate": True}]},
            "needs a counter",
        ),
        ({"measurement": "m", "fields": [{"name": "s", "oid": "sysObjectID"}]}, "can only be a tag"),
        ({"measurement": "m", "fields": [{"name": "Up", "oid": "sysUpTime"}]}, "should match pattern"),
        (
            {
                "measurement": "m",
                "fields": [{"name": "a", "oid": "sysUpTime"}, {"name": "a", "oid": "sysUpTime"}],
            },
            "'a' is defined twice",
        ),
        (
            {"tables": [{"measurement": "t", "columns": [{"name": "a", "oid": "sysName", "tag": True}]}]},
            "is a scalar",
        ),
        (
            {"tables": [{"measurement": "t", "columns": [{"name": "a", "oid": "ifDescr.3", "tag": True}]}]},
            "without the row index",
        ),
        (
            {"tables": [{"measurement": "t", "index_tag": "a", "columns": [{"name": "a", "oid": "ifMtu"}]}]},
            "used twice",
        ),
        (
            {
                "version": "1",
                "tables": [{"measurement": "t", "columns": [{"name": "i", "oid": "ifHCInOctets"}]}],
            },
            "SNMPv1 cannot carry",
        ),
    ],
)
def test_a_wrong_entry_says_what_to_do(entry: dict[str, Any], says: str) -> None:
    assert says in error_of(**entry)


def test_snmpv1_reads_the_if_mib_profile_through_its_32_bit_fallbacks() -> None:
    assert device(version=1, profile="if-mib").version == "1"


def test_a_problem_names_file_and_key_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(
            tmp_path,
            """
[[devices.snmp]]
name = "sw-1"
host = "10.31.0.2"
  [[devices.snmp.tables]]
  measurement = "network_interface"
  columns = [{ name = "in_bps", oid = "IF-MIB::ifHCInOctects", rate = true }]
""",
        )
    (problem,) = caught.value.problems
    assert problem.path == "devices.snmp[0].tables[0].columns[0]"
    assert "did you mean 'ifHCInOctets'" in problem.message
    assert problem.source.endswith("agent.toml")


def test_key_files_are_relative_to_the_config_or_in_the_credentials_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "snmp-auth").write_text("authpass123\n")
    (tmp_path / "community").write_text("public\n")
    config = load_config(
        tmp_path,
        """
[[devices.snmp]]
name = "v3"
host = "10.31.0.2"
version = "3"
user = "edge"
auth = "sha"
auth_key_file = "${CREDENTIALS_DIRECTORY}/snmp-auth"
profile = "system"

[[devices.snmp]]
name = "v2"
host = "10.31.0.3"
community_file = "community"
profile = "system"
""",
    )
    v3, v2 = config.devices.snmp
    assert v3.auth_key_file == tmp_path / "secrets" / "snmp-auth"
    assert v2.community_file == tmp_path / "community"
