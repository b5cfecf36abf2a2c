"""A real net-snmp ``snmpd`` for tests, on a free loopback UDP port, touching nothing in /etc.

It serves SNMPv1/v2c with a community and SNMPv3 with one user per security combination
in :data:`USERS`. ``snmpget``/``snmpwalk`` are offered as the independent reference the
agent's readings are compared with.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .ports import LOOPBACK, free_udp_port, free_udp_ports
from .server import ServerProcess

BINARY = "snmpd"
COMMUNITY = "public"
SYS_NAME = "test-snmpd"
SYS_LOCATION = "lab 3, rack 2"
SYS_CONTACT = "noc@school.example"
#: What the test agent says it is (net-snmp's own sysDescr names the host's kernel).
SYS_DESCR = "Campus test switch SW-24, firmware 7.2.1 (net-snmp snmpd)"


@dataclass(frozen=True)
class V3User:
    """One SNMPv3 user of the test agent: protocols in net-snmp's and in the agent's spelling."""

    name: str
    level: str  # noauth | auth | priv (net-snmp's rouser level)
    auth: str | None = None  # agent config spelling: md5 sha sha224 sha256 sha384 sha512
    auth_key: str | None = None
    priv: str | None = None  # agent config spelling: des aes128 aes192 aes256
    priv_key: str | None = None

    @property
    def net_snmp_auth(self) -> str:
        """The auth protocol as net-snmp's ``createUser`` and ``snmpget -a`` spell it."""
        assert self.auth is not None
        return {
            "md5": "MD5",
            "sha": "SHA",
            "sha224": "SHA-224",
            "sha256": "SHA-256",
            "sha384": "SHA-384",
            "sha512": "SHA-512",
        }[self.auth]

    @property
    def net_snmp_priv(self) -> str:
        """The privacy protocol as net-snmp spells it."""
        assert self.priv is not None
        return {"des": "DES", "aes128": "AES", "aes192": "AES-192", "aes256": "AES-256"}[self.priv]

    def create_line(self) -> str:
        """The ``createUser`` line of snmpd.conf."""
        parts = ["createUser", self.name]
        if self.auth:
            parts += [self.net_snmp_auth, f'"{self.auth_key}"']
            if self.priv:
                parts += [self.net_snmp_priv, f'"{self.priv_key}"']
        return " ".join(parts)


#: The SNMPv3 users every test agent knows.
USERS = {
    user.name: user
    for user in (
        V3User("edgev3", "priv", "sha", "authpass123", "aes128", "privpass123"),
        V3User("edgemd5", "priv", "md5", "md5pass1234", "des", "despass1234"),
        V3User("edge256", "priv", "sha256", "sha256pass12", "aes256", "aes256pass12"),
        # SHA-1's 20-byte key is too short for AES-192/256: the key extension must match net-snmp's.
        V3User("edgeaes192", "priv", "sha", "shapass12345", "aes192", "aes192pass12"),
        V3User("edgeaes256", "priv", "md5", "md5pass12345", "aes256", "aes256pass34"),
        V3User("edge512", "auth", "sha512", "sha512pass12"),
        V3User("edgenone", "noauth"),
    )
}


class Snmpd(ServerProcess):
    """Starts, stops and queries one snmpd process on a free loopback UDP port."""

    name = BINARY
    stop_wait = 10.0

    def __init__(self, workdir: Path, port: int | None = None, sys_descr: str = SYS_DESCR) -> None:
        super().__init__()
        self.sys_descr = sys_descr
        self.workdir = workdir
        self.port = port or free_udp_port()
        self.address = f"{LOOPBACK}:{self.port}"
        self.log = workdir / "snmpd.log"
        self.persist = workdir / "persist"
        self._env = {**os.environ, "SNMP_PERSISTENT_DIR": str(self.persist), "MIBS": "", "MIBDIRS": ""}

    def write_config(self) -> Path:
        """snmpd.conf: loopback only, one community, the v3 users of :data:`USERS`."""
        lines = [
            f"agentAddress udp:{LOOPBACK}:{self.port}",
            f"rocommunity {COMMUNITY} {LOOPBACK}",
            f"sysName {SYS_NAME}",
            f"sysDescr {self.sys_descr}",
            f"sysLocation {SYS_LOCATION}",
            f"sysContact {SYS_CONTACT}",
            "dontLogTCPWrappersConnects yes",
        ]
        for user in USERS.values():
            lines += [user.create_line(), f"rouser {user.name} {user.level}"]
        config = self.workdir / "snmpd.conf"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self, timeout: float = 15.0) -> None:
        """Start snmpd and wait until it answers a GET of sysName."""
        binary = shutil.which(BINARY) or f"/usr/sbin/{BINARY}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "nomibs").mkdir(exist_ok=True)
        self.persist.mkdir(exist_ok=True)
        config = self.write_config()
        self.launch(
            [
                binary,
                "-f",
                "-C",
                "-M",
                str(self.workdir / "nomibs"),
                "-m",
                "",
                "-c",
                str(config),
                "-Lf",
                str(self.log),
                "-p",
                str(self.workdir / "snmpd.pid"),
            ],
            None,
            self._answering,
            see=self.log,
            timeout=timeout,
            interval=0.1,
            env=self._env,
        )

    def _answering(self) -> bool:
        result = self.run(
            "snmpget",
            "-v2c",
            "-c",
            COMMUNITY,
            "-t",
            "0.3",
            "-r",
            "0",
            self.address,
            "1.3.6.1.2.1.1.5.0",
            check=False,
        )
        return result.returncode == 0 and SYS_NAME in result.stdout

    def run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a net-snmp command-line tool (``snmpget``, ``snmpwalk``...) with numeric output."""
        return subprocess.run(
            [tool, "-m", "", "-M", str(self.workdir / "nomibs"), *args],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=30,
            check=check,
        )

    def get(self, *oids: str) -> dict[str, str]:
        """``snmpget -v2c``: numeric OID (no leading dot) -> value as net-snmp prints it (-Oqn)."""
        result = self.run("snmpget", "-v2c", "-c", COMMUNITY, "-On", "-Oq", "-Oe", "-Ot", self.address, *oids)
        return _parse(result.stdout)

    def walk(self, oid: str) -> dict[str, str]:
        """``snmpwalk -v2c``: numeric OID -> value, for the subtree under ``oid``."""
        result = self.run("snmpwalk", "-v2c", "-c", COMMUNITY, "-On", "-Oq", "-Oe", "-Ot", self.address, oid)
        return _parse(result.stdout)


def _parse(output: str) -> dict[str, str]:
    values = {}
    for line in output.splitlines():
        oid, _, value = line.partition(" ")
        if oid.startswith("."):
            values[oid[1:]] = value.strip().strip('"')
    return values


class SimulatedSnmp:
    """``python -m simulators.snmp`` (switches and UPSes) as a process, on free loopback UDP ports."""

    def __init__(self, workdir: Path, switches: int = 1, ups: int = 1, *extra: str) -> None:
        self.workdir = workdir
        self.count = switches + ups
        self.base_port = free_udp_ports(self.count)
        self.args = [
            "--switches",
            str(switches),
            "--ups",
            str(ups),
            "--base-port",
            str(self.base_port),
            "--host",
            LOOPBACK,
            *extra,
        ]
        self.process: subprocess.Popen[str] | None = None

    def config(self) -> str:
        """The ``[[devices.snmp]]`` entries that poll these devices."""
        return subprocess.run(
            [sys.executable, "-m", "simulators.snmp", *self.args, "--print-config"],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout

    def start(self) -> None:
        """Start serving and wait for ``ready``."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulators.snmp", *self.args],
            stdout=subprocess.PIPE,
            stderr=(self.workdir / "simulators-snmp.log").open("ab"),
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip() == "ready":
                return
        raise RuntimeError(f"SNMP simulators did not start; see {self.workdir / 'simulators-snmp.log'}")

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None
