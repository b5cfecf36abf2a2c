"""What a reload restarts, decided from the running and the new config alone."""

from __future__ import annotations

from pathlib import Path

from edge_agent.config import AgentConfig, load
from edge_agent.reload import Applied, plan

DEVICE = """
[[devices.modbus]]
name = "{name}"
host = "127.0.0.1"
port = {port}
profile = "classroom-iaq"
tags = {{ room = "{room}" }}
"""


def config(tmp_path: Path, body: str, devices: list[tuple[str, int, str]]) -> AgentConfig:
    text = '[agent]\nschool = "sh-test"\ninterval = "10s"\n' + body
    text += "".join(DEVICE.format(name=n, port=p, room=r) for n, p, r in devices)
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return load(path).config


def test_only_added_removed_and_changed_devices_are_touched(tmp_path: Path) -> None:
    old = config(tmp_path, "", [("a", 1502, "101"), ("b", 1503, "102"), ("c", 1504, "103")])
    new = config(tmp_path, "", [("a", 1502, "101"), ("b", 1503, "202"), ("d", 1505, "104")])
    change = plan(Applied.of(old), new)
    assert (change.added, change.removed, change.changed, change.unchanged) == (["d"], ["c"], ["b"], ["a"])
    assert not change.sinks_changed and not change.needs_restart and not change.log_changed


def test_the_agent_interval_and_identity_reach_every_device_that_uses_them(tmp_path: Path) -> None:
    old = config(tmp_path, "", [("a", 1502, "101")])
    new = config(tmp_path, "", [("a", 1502, "101")])
    assert plan(Applied.of(old), new).unchanged == ["a"]
    faster = config(tmp_path, "", [("a", 1502, "101")]).model_copy(
        update={"agent": old.agent.model_copy(update={"interval": 5.0})}
    )
    assert plan(Applied.of(old), faster).changed == ["a"]
    renamed = old.model_copy(update={"agent": old.agent.model_copy(update={"campus": "east"})})
    assert plan(Applied.of(old), renamed).changed == ["a"]


def test_buffer_and_state_dir_wait_for_a_restart_and_keep_their_running_values(tmp_path: Path) -> None:
    old = config(tmp_path, '[buffer]\nmax_disk = "1GiB"\nshutdown_grace = "5s"\n', [])
    new = config(tmp_path, '[buffer]\nmax_disk = "2GiB"\nshutdown_grace = "9s"\n', [])
    new = new.model_copy(update={"agent": new.agent.model_copy(update={"state_dir": Path("/elsewhere")})})
    change = plan(Applied.of(old), new)
    assert change.needs_restart == ["agent.state_dir", "buffer.max_disk"]
    assert change.effective.agent.state_dir == old.agent.state_dir
    assert change.effective.buffer.max_disk == old.buffer.max_disk
    assert change.effective.buffer.shutdown_grace == 9.0  # read at shutdown: applies at once


def sink(name: str, timeout: str = "10s", token_file: Path | None = None) -> str:
    token = f'token_file = "{token_file}"\n' if token_file else ""
    return (
        f'[[sinks.influxdb]]\nname = "{name}"\nurl = "http://127.0.0.1:8428"\nbucket = "b"\n'
        f'timeout = "{timeout}"\n{token}'
    )


def test_changed_sink_settings_restart_the_forwarder(tmp_path: Path) -> None:
    old = config(tmp_path, sink("city"), [])
    assert not plan(Applied.of(old), config(tmp_path, sink("city"), [])).sinks_changed
    assert plan(Applied.of(old), config(tmp_path, sink("city", timeout="3s"), [])).sinks_changed


def test_a_new_token_in_the_same_file_counts_as_a_change(tmp_path: Path) -> None:
    token = tmp_path / "influxdb.token"
    token.write_text("first")
    running = Applied.of(config(tmp_path, sink("city", token_file=token), []))
    token.write_text("second")
    assert plan(running, config(tmp_path, sink("city", token_file=token), [])).sinks_changed


def test_adding_or_removing_a_sink_waits_for_a_restart(tmp_path: Path) -> None:
    old = config(tmp_path, sink("city"), [])
    new = config(tmp_path, sink("city") + sink("backup"), [])
    change = plan(Applied.of(old), new)
    assert change.needs_restart == ["sinks (running: city; configured: city, backup)"]
    assert [s.name for s in change.effective.sinks.all()] == ["city"]
    assert not change.sinks_changed


def test_log_and_listen_changes_are_noticed(tmp_path: Path) -> None:
    old = config(tmp_path, "", [])
    new = config(tmp_path, '[log]\nlevel = "debug"\n[health]\nlisten = "127.0.0.1:9999"\n', [])
    change = plan(Applied.of(old), new)
    assert change.log_changed and change.listen_changed and not change.needs_restart
