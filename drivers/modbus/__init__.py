"""Modbus TCP driver: reads a device's registers in planned requests and decodes them.

The device is read-only to us: only the read function codes 1-4 are ever sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import TracebackType
from typing import Any, Self

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from drivers import DeviceError, FieldValue, Reading

from .config import ModbusDevice, Register
from .planner import Request, plan

__all__ = ["ModbusDevice", "ModbusDriver", "Register"]

# pymodbus logs the raw frames of every client on any error; our own log line names the
# device and the request, which is what a technician needs.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

#: Modbus exception codes (application protocol v1.1b3, section 7) and what they mean here.
EXCEPTION_CODES = {
    1: "illegal function (the device does not support this table)",
    2: "illegal data address (check the register addresses against the manual)",
    3: "illegal data value (the read is too long for the device)",
    4: "device failure",
    5: "acknowledge (device busy with a long operation)",
    6: "device busy",
    10: "gateway path unavailable (serial server has no route to this unit)",
    11: "gateway target did not respond (check the unit id and the RS-485 wiring)",
}


class ModbusDriver:
    """Polls one Modbus TCP device; one connection, kept open between polls."""

    def __init__(self, config: ModbusDevice) -> None:
        self._config = config
        self._requests: list[Request] = plan(config.registers, config.max_gap)
        self._client: AsyncModbusTcpClient | None = None
        self._readers: dict[str, Any] = {}

    @property
    def name(self) -> str:
        """The device name from the config."""
        return self._config.name

    @property
    def requests(self) -> list[Request]:
        """The planned read requests, one per coalesced block."""
        return list(self._requests)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._disconnect()

    async def poll(self) -> list[Reading]:
        """Read every planned request once and return one reading with all fields."""
        client = await self._connect()
        fields: list[tuple[str, FieldValue]] = []
        for request in self._requests:
            values = await self._read(client, request)
            for slot in request.slots:
                fields.append(
                    (slot.field, slot.decode(values[slot.offset : slot.offset + slot.width]))
                )
        return [Reading(self._config.name, time.time_ns() // 1_000_000, tuple(fields))]

    async def _connect(self) -> AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        self._disconnect()
        config = self._config
        # reconnect_delay=0: the scheduler owns retries and backoff, not pymodbus.
        client = AsyncModbusTcpClient(
            config.host, port=config.port, timeout=config.timeout, retries=0, reconnect_delay=0
        )
        try:
            async with asyncio.timeout(config.timeout):
                connected = await client.connect()
        except (TimeoutError, OSError) as exc:
            client.close()
            raise DeviceError(config.name, f"cannot connect to {self._address}: {exc or 'timeout'}") from exc
        if not connected:
            client.close()
            raise DeviceError(config.name, f"cannot connect to {self._address} (refused or unreachable)")
        self._client = client
        self._readers = {
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
            "coil": client.read_coils,
            "discrete": client.read_discrete_inputs,
        }
        return client

    async def _read(self, client: AsyncModbusTcpClient, request: Request) -> list[int] | list[bool]:
        config = self._config
        where = f"unit {config.unit}, {request.table} {request.address}-{request.end - 1}"
        try:
            # pymodbus has its own timeout; ours bounds the whole call should it hang anyway.
            async with asyncio.timeout(config.timeout + 1):
                response = await self._readers[request.table](
                    request.address, count=request.count, device_id=config.unit
                )
        except (ModbusException, TimeoutError, OSError) as exc:
            self._disconnect()
            raise DeviceError(config.name, f"no answer from {self._address} ({where}): {exc}") from exc
        if response.isError():
            code = getattr(response, "exception_code", 0)
            meaning = EXCEPTION_CODES.get(code, "unknown exception")
            raise DeviceError(config.name, f"exception {code} from {self._address} ({where}): {meaning}")
        if request.table in ("coil", "discrete"):
            bits: list[bool] = list(response.bits)
            if len(bits) < request.count:
                raise DeviceError(config.name, f"short answer ({where}): {len(bits)} bits")
            return bits
        registers: list[int] = list(response.registers)
        if len(registers) != request.count:
            raise DeviceError(
                config.name,
                f"wrong answer length ({where}): {len(registers)} registers, expected {request.count}",
            )
        return registers

    @property
    def _address(self) -> str:
        return f"{self._config.host}:{self._config.port}"

    def _disconnect(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
