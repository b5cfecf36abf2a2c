"""The gateway as an asset: its host name, OS and kernel, the agent's version, its machine id.

Read from the machine itself (``/etc/os-release``, ``uname``, the firmware's DMI strings
or the device tree), never from anything a person typed. The machine id is not sent as
it is: systemd asks that it never leave the machine in the clear, since it also keys
other applications' secrets. The register gets systemd's *app-specific* form instead
(an HMAC-SHA256 keyed with the machine id over this application's own id, as
``systemd-id128 machine-id --app-specific=`` prints), which tells gateways apart and
from which the machine id cannot be recovered.
"""

from __future__ import annotations

import hashlib
import hmac
import platform
import socket
from pathlib import Path

from campus_core.identity import Identity

from .. import __version__

#: The register's row for the gateway: never a configured device's name (those start
#: with a letter or a digit).
GATEWAY = "@gateway"
PROTOCOL = "gateway"
#: This application's id for systemd's app-specific machine id (random, fixed forever).
APP_ID = bytes.fromhex("5c0a3e6fd2b74a1b9e84c6f1a2d07b35")

MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))
OS_RELEASE_FILES = (Path("/etc/os-release"), Path("/usr/lib/os-release"))
DMI = Path("/sys/class/dmi/id")
DEVICE_TREE_MODEL = Path("/proc/device-tree/model")


def app_specific_id(machine_id: str, app_id: bytes = APP_ID) -> str:
    """systemd's app-specific id of ``machine_id`` (32 hex digits) for ``app_id``: a UUID v4."""
    digest = bytearray(hmac.new(bytes.fromhex(machine_id), app_id, hashlib.sha256).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    return digest.hex()


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip().strip("\x00") or None
    except OSError:
        return None


def _os_name(files: tuple[Path, ...] = OS_RELEASE_FILES) -> str | None:
    for path in files:
        text = _read(path)
        if text is None:
            continue
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "PRETTY_NAME":
                return value.strip().strip("\"'") or None
    return None


def _machine_id(files: tuple[Path, ...] = MACHINE_ID_FILES) -> str | None:
    for path in files:
        text = _read(path)
        if text and len(text) == 32 and all(c in "0123456789abcdef" for c in text):
            return app_specific_id(text)
    return None


def gateway_identity() -> Identity:
    """What this machine says about itself (reads a few small files: run it off the event loop)."""
    vendor = _read(DMI / "sys_vendor")
    model = _read(DMI / "product_name") or _read(DEVICE_TREE_MODEL)
    return Identity.stated(
        {
            "vendor": vendor,
            "model": model,
            "firmware": _os_name(),
            "serial": _machine_id(),
            "host": socket.gethostname(),
            "os": f"{platform.system()} {platform.machine()}",
            "kernel": platform.release(),
            "agent": __version__,
        }
    )
