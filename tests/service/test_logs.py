"""Logs and secrets, with a real agent at debug level.

Secrets reach the agent the way systemd's LoadCredential= hands them over (files in
``$CREDENTIALS_DIRECTORY``, named ``${CREDENTIALS_DIRECTORY}/...`` in the config): the store
token and SNMPv3 keys are used (the store accepts, snmpd answers) and never appear in the
logs, nor in what ``check``, ``test`` and ``status`` print. Under journald every line is
JSON with its syslog priority, and a device that stays down logs once per backoff step.

The store here is a small HTTP server that checks the token as InfluxDB does: the 401 a
wrong token gets is a fault VictoriaMetrics (which ignores tokens) will not produce.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import secrets
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import SimulatedCampus, cli, until
from tests.support.snmpd import USERS, Snmpd

from .helpers import ServiceAgent, agent_toml, campus_devices, devices_in, free_listen, healthz

pytestmark = pytest.mark.integration

T = TypeVar("T")
PRIORITY = {"debug": 7, "info": 6, "warning": 4, "error": 3}


class TokenStore:
    """``/api/v2/write`` that wants ``Authorization: Token <token>``, as InfluxDB does."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.accepted: list[str] = []
        self.refused = 0
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> TokenStore:
        app = web.Application()
        app.router.add_post("/api/v2/write", self._write)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _write(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Token {self.token}":
            self.refused += 1
            return web.json_response({"code": "unauthorized", "message": "unauthorized access"}, status=401)
        raw = await request.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        self.accepted += raw.decode().splitlines()
        return web.Response(status=204)


def journal_lines(text: str) -> list[tuple[int, dict[str, Any]]]:
    """``<priority>{json}`` lines as journald reads them."""
    out = []
    for line in text.splitlines():
        assert line.startswith("<") and ">{" in line, f"not a journal line: {line!r}"
        priority, body = line[1:].split(">", 1)
        out.append((int(priority), json.loads(body)))
    return out


def snmp_device(snmpd: Snmpd) -> str:
    return f"""
[[devices.snmp]]
name = "core-sw"
host = "{LOOPBACK}"
port = {snmpd.port}
version = "3"
user = "edgev3"
auth = "sha"
auth_key_file = "${{CREDENTIALS_DIRECTORY}}/snmp-auth"
priv = "aes128"
priv_key_file = "${{CREDENTIALS_DIRECTORY}}/snmp-priv"
measurement = "switch"
  [[devices.snmp.fields]]
  name = "uptime_s"
  oid = "SNMPv2-MIB::sysUpTime.0"
"""


async def test_secrets_stay_out_of_logs_and_output(
    tmp_path: Path, campus: SimulatedCampus, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, wrong = f"tok-{secrets.token_hex(12)}", f"inline-{secrets.token_hex(12)}"
    user = USERS["edgev3"]
    assert user.auth_key and user.priv_key
    # What systemd makes of LoadCredential=: a private folder, files readable by the agent alone.
    credentials = tmp_path / "credentials"
    credentials.mkdir(mode=0o700)
    files = {"influxdb.token": token, "snmp-auth": user.auth_key, "snmp-priv": user.priv_key}
    for name, value in files.items():
        (credentials / name).write_text(value + "\n")
        (credentials / name).chmod(0o400)
    snmpd = Snmpd(tmp_path / "snmpd")
    await asyncio.to_thread(snmpd.start)
    await asyncio.to_thread(campus.start)
    dead = (
        f'[[devices.modbus]]\nname = "gone"\nhost = "{LOOPBACK}"\nport = {free_port()}\n'
        'measurement = "plc"\n  [[devices.modbus.registers]]\n  field = "state"\n  address = 0\n'
    )
    listen = free_listen()
    async with TokenStore(token) as store:
        sinks = f"""
[[sinks.influxdb]]
name = "city"
url = "{store.url}"
bucket = "campus"
token_file = "${{CREDENTIALS_DIRECTORY}}/influxdb.token"
retry_max = "1s"

[[sinks.influxdb]]
name = "backup"
url = "{store.url}"
bucket = "campus"
token = "{wrong}"
retry_max = "1s"
"""
        devices = [next(iter(campus_devices(campus).values())), snmp_device(snmpd), dead]
        config = tmp_path / "agent.toml"
        config.write_text(agent_toml(devices, listen=listen, sink=sinks, interval="200ms", log_format="auto"))
        agent = ServiceAgent(config, {"CREDENTIALS_DIRECTORY": str(credentials)})
        agent.log.touch()
        info = os.stat(agent.log)
        agent.env["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}"  # as if stderr were the journal
        agent.start()
        try:
            await until(
                lambda: store.accepted and store.refused >= 2, 30, "the token used, the wrong one refused"
            )
            await until(
                lambda: (h := healthz(listen)) and devices_in(h[1])["core-sw"]["up"],
                30,
                "the SNMPv3 device answering with the keys",
                interval=0.25,
                blocking=True,
            )
            await asyncio.sleep(4)  # the dead device goes through a few backoff steps
            latest = await asyncio.to_thread(healthz, listen)
            assert latest is not None
            failures = devices_in(latest[1])["gone"]["failures"]
            # The technician's commands, with the secrets where the service finds them.
            monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
            checked, tested, shown = [
                await asyncio.to_thread(cli, verb, str(config)) for verb in ("check", "test", "status")
            ]
            assert agent.stop() == 0
        finally:
            if agent.running():
                agent.kill()
            await asyncio.to_thread(snmpd.stop)
    assert checked.returncode == 0 and "core-sw" in checked.stdout, checked.stderr
    assert tested.returncode == 1 and "switch,campus=main" in tested.stdout  # "gone" fails, the rest answer
    assert shown.returncode == 0 and "backup" in shown.stdout
    outputs = [checked, tested, shown]

    log = agent.log_text()
    lines = journal_lines(log)
    assert any(e["event"] == "store refused the credentials; data kept, retrying" for _, e in lines)
    for secret in (token, wrong, user.auth_key, user.priv_key):
        assert secret not in log
        for output in outputs:
            assert secret not in output.stdout and secret not in output.stderr
    assert all(priority == PRIORITY[event["level"]] for priority, event in lines)

    # The dead device: one line per failed poll, and the polls are the backoff steps, each
    # twice as far from the last (a poll every 200 ms would have logged dozens of lines).
    steps = [e for _, e in lines if e.get("device") == "gone" and e["event"] == "device not answering"]
    assert failures <= len(steps) <= failures + 1
    assert [e["retry_in"] for e in steps] == [round(min(60.0, 0.2 * 2**i), 1) for i in range(len(steps))]
    assert [e["level"] for e in steps] == ["warning"] + ["info"] * (len(steps) - 1)
