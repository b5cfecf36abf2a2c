"""drivers.modbus.pymodbus_compat: what is reached inside pymodbus, pinned to the versions checked.

The behaviour (a garbled answer fails the request at once, discarded frames are counted)
is specified against hostile servers in test_hostile.py; this file fails first, and says
where to look, when an upgrade moves what the adapter wraps.
"""

from __future__ import annotations

from importlib.metadata import version

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.framer import FramerType

from drivers.modbus import pymodbus_compat


def _minor(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def test_the_installed_pymodbus_is_one_checked() -> None:
    low, high = (_minor(v) for v in pymodbus_compat.CHECKED_PYMODBUS)
    installed = version("pymodbus")
    assert low <= _minor(installed) <= high, (
        f"pymodbus {installed} is outside the checked {pymodbus_compat.CHECKED_PYMODBUS}: re-check "
        "drivers/modbus/pymodbus_compat.py against its upstream issues, then widen CHECKED_PYMODBUS"
    )


async def test_the_transaction_manager_still_has_what_is_wrapped() -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=1, framer=FramerType.RTU, retries=0)
    seen: list[str] = []
    pymodbus_compat.watch_frames(
        client, lambda: seen.append("rejected"), lambda n: seen.append(f"left {n}"), ValueError
    )
    assert callable(client.ctx.callback_data)
    assert client.ctx.callback_data.__name__ == "callback_data"  # ours, wrapping pymodbus'
    assert client.ctx.callback_data(b"") == 0  # nothing arrived: nothing used, nothing left
    assert seen == ["left 0"]
    client.close()
