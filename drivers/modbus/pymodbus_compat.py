"""What the agent needs of pymodbus' clients that they do not offer: a look at every frame.

The only module of the driver that reaches into pymodbus' internals (its transaction
manager, ``client.ctx``): when pymodbus offers this, this file shrinks and nothing else
changes. tests/drivers/modbus/test_pymodbus_compat.py pins the versions checked and fails
on an upgrade that removes what is reached into.

pymodbus drops what it cannot decode without telling the caller, who then waits out the
whole timeout and learns nothing (upstream: https://github.com/pymodbus-dev/pymodbus/issues/2151);
an exception raised while decoding escapes into asyncio and drops the connection
(https://github.com/pymodbus-dev/pymodbus/issues/1545 for its history). Wrapping the
manager's ``callback_data`` sees each frame as it arrives.
"""

from __future__ import annotations

from collections.abc import Callable

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

#: The pymodbus versions whose internals this module was checked against (tests pin them).
CHECKED_PYMODBUS = ("3.9", "3.16")


class Unsupported(RuntimeError):
    """The installed pymodbus lacks the internals this adapter wraps."""


def watch_frames(
    client: AsyncModbusTcpClient | AsyncModbusSerialClient,
    rejected: Callable[[], None],
    leftover: Callable[[int], None],
    undecodable: Callable[[str], Exception],
) -> None:
    """Report every frame pymodbus drops, and fail the waiting request at once on one it cannot decode.

    ``rejected()`` is called for a frame pymodbus discarded (wrong transaction or unit id,
    bad CRC) or could not decode; ``leftover(n)`` with the bytes it keeps waiting to
    complete after each arrival (0 when none), which say why an answer timed out; the
    waiting request fails with ``undecodable(reason)`` instead of waiting out its timeout.
    """
    manager = getattr(client, "ctx", None)
    if manager is None or not all(
        hasattr(manager, name) for name in ("callback_data", "response_future", "last_pdu")
    ):
        raise Unsupported("this pymodbus client has no transaction manager with callback_data")
    original = manager.callback_data

    def callback_data(data: bytes, addr: tuple[str, int] | None = None) -> int:
        try:
            used = int(original(data, addr))
        except ModbusException as exc:
            # Left alone, this escapes into asyncio, which logs a traceback and drops
            # the connection; the request would then wait out its whole timeout.
            rejected()
            future = manager.response_future
            if not future.done():
                future.set_exception(undecodable(f"undecodable answer of {len(data)} bytes ({exc})"))
            return len(data)
        if used and manager.last_pdu is None:
            rejected()
        leftover(len(data) - used)
        return used

    manager.callback_data = callback_data
