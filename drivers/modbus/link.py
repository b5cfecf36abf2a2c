"""The physical link: one connection per TCP endpoint or serial port, shared by its devices.

Several unit ids often sit behind one link: RS-485 sensors on one serial port, or on one
serial server reached over TCP. A bus carries one conversation at a time, so a link lets
one request through at a time (an ``asyncio.Lock``), waits the configured ``pause`` between
requests, and is shared by every device driver on it (:class:`Links` hands them out).
Separate links have separate locks: they are polled concurrently.

Plain Modbus TCP goes through the agent's own framing (mbap.py); serial lines and RTU
over TCP through a pymodbus client. The link is also where the wire is checked:

* only the read function codes 1-4 and Read Device Identification (43 / MEI 14, the asset
  register's probe) ever leave it (mbap.py frames nothing else; on the pymodbus links a
  ``trace_pdu`` guard refuses others);
* an answer must carry the request's function code and exactly the bytes asked for;
* frames discarded (wrong transaction id, wrong unit id, bad CRC) or that cannot be decoded
  are counted, and a request that got only such frames fails as a rejected answer rather
  than as silence, so the log tells a noisy line from a dead device.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType

from . import mei
from .config import LinkSettings
from .errors import BadAnswer, LinkDown, LinkError, LinkStats, NoAnswer, WriteRefused
from .mbap import Answer, MbapConnection
from .pymodbus_compat import watch_frames

#: The only function codes this agent sends: read coils, discrete inputs, holding, input.
READ_FUNCTION_CODES = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
_READ_METHODS = {
    "coil": "read_coils",
    "discrete": "read_discrete_inputs",
    "holding": "read_holding_registers",
    "input": "read_input_registers",
}


class LinkConflict(ValueError):
    """Two devices name the same link with different line settings."""


class FrameError(LinkError):
    """pymodbus could not decode what arrived; set on the waiting request so it fails at once."""


class Link:
    """One physical link; :meth:`read` sends one read request at a time."""

    def __init__(self, settings: LinkSettings) -> None:
        self.settings = settings
        self.pause = 0.0
        self.stats = LinkStats()
        self.users: dict[str, float] = {}
        self._lock = asyncio.Lock()
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._mbap: MbapConnection | None = None
        self._free_at = 0.0
        self._rejected = 0
        self._leftover = 0

    def __str__(self) -> str:
        return self.settings.describe()

    async def read(self, unit: int, table: str, address: int, count: int, within: float) -> Answer:
        """Read ``count`` registers (or bits) of ``table`` at ``address`` from ``unit``,
        waiting up to ``within`` seconds for the answer.

        Returns the values, or the device's exception code for the caller to interpret.
        Raises :class:`LinkDown`, :class:`NoAnswer`, :class:`BadAnswer` or :class:`WriteRefused`.
        """
        async with self._lock:
            loop = asyncio.get_running_loop()
            wait = self._free_at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                if self.settings.transport == "tcp":
                    return await self._exchange_mbap(unit, table, address, count, within)
                return await self._exchange(unit, table, address, count, within)
            finally:
                self._free_at = loop.time() + self.pause

    async def identification(self, unit: int, read_code: int, object_id: int, within: float) -> Answer:
        """One Read Device Identification (FC 43 / MEI 14) of ``unit``: its page, or its exception.

        Raises as :meth:`read` does; it waits its turn on the link like a read.
        """
        async with self._lock:
            loop = asyncio.get_running_loop()
            wait = self._free_at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                if self.settings.transport == "tcp":
                    return await self._via_mbap(
                        mei.FUNCTION,
                        within,
                        lambda connection: connection.identification(unit, read_code, object_id, within),
                    )
                page: Answer = await self._via_pymodbus(
                    mei.FUNCTION,
                    within,
                    lambda client: client.read_device_information(
                        read_code=read_code, object_id=object_id, device_id=unit
                    ),
                )
                return page
            finally:
                self._free_at = loop.time() + self.pause

    def close(self) -> None:
        """Close the connection (or serial port); the next read opens it again."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._mbap is not None:
            self._mbap.close()
            self._mbap = None

    async def _exchange_mbap(self, unit: int, table: str, address: int, count: int, within: float) -> Answer:
        function = READ_FUNCTION_CODES[table]
        return await self._via_mbap(
            function, within, lambda connection: connection.read(unit, function, address, count, within)
        )

    async def _via_mbap(
        self, function: int, within: float, call: Callable[[MbapConnection], Awaitable[Answer]]
    ) -> Answer:
        connection = self._mbap
        if connection is None or connection.closed:
            self.close()
            connection = await self._open_mbap(within)
        self.stats.requests += 1
        self.stats.function_codes[function] += 1
        try:
            return await call(connection)
        except BadAnswer:
            self._reject_stream()
            raise
        except NoAnswer:
            if connection.closed:
                self.close()
            else:
                self.stats.timeouts += 1
            raise

    async def _open_mbap(self, within: float) -> MbapConnection:
        s = self.settings
        assert s.host is not None
        try:
            async with asyncio.timeout(within):
                connection = await MbapConnection.open(s.host, s.port, self.stats)
        except TimeoutError:
            raise LinkDown(f"cannot connect to {s.describe()}: no answer within {within:g}s") from None
        except OSError as exc:
            raise LinkDown(
                f"cannot connect to {s.describe()} (refused or unreachable): {exc.strerror or exc}"
            ) from None
        self._mbap = connection
        self.stats.connects += 1
        return connection

    async def _exchange(self, unit: int, table: str, address: int, count: int, within: float) -> Answer:
        function = READ_FUNCTION_CODES[table]
        response = await self._via_pymodbus(
            function,
            within,
            lambda client: getattr(client, _READ_METHODS[table])(address, count=count, device_id=unit),
        )
        return self._checked(response, function, count)

    async def _via_pymodbus(
        self,
        function: int,
        within: float,
        call: Callable[[AsyncModbusTcpClient | AsyncModbusSerialClient], Awaitable[Any]],
    ) -> Any:
        """One request through the pymodbus client, its failures turned into the link's errors."""
        client = await self._connected(within)
        # pymodbus 3.16 reads its per-request timeout from the transaction manager's copy of
        # the comm params at each request; devices on one link may have different timeouts.
        client.ctx.comm_params.timeout_connect = within
        self._rejected = self._leftover = 0
        self.stats.requests += 1
        try:
            # pymodbus has its own timeout; ours bounds the whole call should it hang anyway.
            async with asyncio.timeout(within + 1.0):
                response = await call(client)
        except (WriteRefused, FrameError) as exc:
            if isinstance(exc, FrameError):
                self._reject_stream()
                raise BadAnswer(str(exc)) from exc
            raise
        except ConnectionException as exc:
            self.close()
            raise NoAnswer(f"connection lost ({exc})") from exc
        except (ModbusIOException, TimeoutError) as exc:
            if self._rejected:
                self._reject_stream()
                raise BadAnswer(
                    f"{self._rejected} answer frame(s) rejected: wrong transaction id, "
                    "wrong unit id or bad checksum"
                ) from exc
            if self._leftover:
                self._count_rejected()
                self._reject_stream()
                raise BadAnswer(
                    f"{self._leftover} bytes arrived that never formed an answer "
                    "(cut short, or garbage on the line)"
                ) from exc
            self.stats.timeouts += 1
            if self._client is not None and not self._client.connected:
                self.close()
            raise NoAnswer(f"no answer within {within:g}s") from exc
        except (ModbusException, OSError) as exc:
            self.close()
            raise NoAnswer(f"link failed: {exc}") from exc
        if function == mei.FUNCTION:
            return self._page(response)
        return response

    def _page(self, response: Any) -> Answer:
        """A pymodbus answer to FC 43 as the page mbap.py would have made of it."""
        got = int(response.function_code)
        if got & 0x7F != mei.FUNCTION:
            self._count_rejected()
            self._reject_stream()
            raise BadAnswer(f"answer carries function code {got}, the request was {mei.FUNCTION}")
        if response.isError():
            return Answer([], int(response.exception_code))
        objects: list[tuple[int, bytes]] = []
        for object_id, value in sorted(response.information.items()):
            for item in value if isinstance(value, list) else [value]:
                objects.append((int(object_id), bytes(item)))
        page = mei.IdPage(
            int(response.read_code),
            int(response.conformity),
            bool(response.more_follows),
            int(response.next_object_id),
            tuple(objects),
        )
        return Answer([], None, page)

    def _checked(self, response: Any, function: int, count: int) -> Answer:
        """Reject a pymodbus answer that does not fit the request it came back for."""
        got = int(response.function_code)
        if got & 0x7F != function:
            self._count_rejected()
            self._reject_stream()
            raise BadAnswer(f"answer carries function code {got}, the request was {function}")
        if response.isError():
            return Answer([], int(response.exception_code))
        if function in (1, 2):
            expected = 8 * ((count + 7) // 8)
            if len(response.bits) != expected:
                self._count_rejected()
                self._reject_stream()
                raise BadAnswer(
                    f"{len(response.bits) // 8} data bytes for {count} bits (expected {expected // 8})"
                )
        elif len(response.registers) != count:
            self._count_rejected()
            self._reject_stream()
            raise BadAnswer(
                f"{2 * len(response.registers)} data bytes for {count} registers (expected {2 * count})"
            )
        if function in (1, 2):
            return Answer([bool(bit) for bit in response.bits[:count]])
        return Answer(list(response.registers))

    def _reject_stream(self) -> None:
        # After a bad frame the byte stream may be out of step: reopen the link to resync.
        self.stats.bad_answers += 1
        self.close()

    async def _connected(self, within: float) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        if self._client is not None and self._client.connected:
            return self._client
        self.close()
        client = self._new_client(within)
        what = self.settings.describe()
        try:
            async with asyncio.timeout(within):
                connected = await client.connect()
        except (TimeoutError, OSError) as exc:
            client.close()
            raise LinkDown(f"cannot connect to {what}: {exc or 'timeout'}") from exc
        if not connected:
            client.close()
            if self.settings.serial is not None:
                raise LinkDown(f"cannot open serial port {what} (missing, or in use by another program)")
            raise LinkDown(f"cannot connect to {what} (refused or unreachable)")
        watch_frames(client, self._count_rejected, self._left_over, FrameError)
        self._client = client
        self.stats.connects += 1
        return client

    def _new_client(self, timeout: float) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        s = self.settings
        # retries=0, reconnect_delay=0: the driver and the scheduler own retries and backoff.
        if s.serial is not None:
            return AsyncModbusSerialClient(
                s.serial,
                framer=FramerType.RTU,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=s.stopbits,
                timeout=timeout,
                retries=0,
                reconnect_delay=0,
                trace_pdu=self._guard,
            )
        framer = FramerType.RTU if s.transport == "rtu-over-tcp" else FramerType.SOCKET
        assert s.host is not None
        return AsyncModbusTcpClient(
            s.host,
            port=s.port,
            framer=framer,
            timeout=timeout,
            retries=0,
            reconnect_delay=0,
            trace_pdu=self._guard,
        )

    def _guard(self, sending: bool, pdu: Any) -> Any:
        """pymodbus' PDU hook: devices are read-only, so only the reads 1-4 and Read Device
        Identification (43 / MEI 14) may leave."""
        if sending:
            code = int(pdu.function_code)
            identification = code == mei.FUNCTION and getattr(pdu, "sub_function_code", None) == 0x0E
            if code not in READ_FUNCTION_CODES.values() and not identification:
                raise WriteRefused(
                    f"function code {code} refused: this agent only reads (codes 1-4, and 43/14)"
                )
            self.stats.function_codes[code] += 1
        return pdu

    def _count_rejected(self) -> None:
        self._rejected += 1
        self.stats.rejected_frames += 1

    def _left_over(self, count: int) -> None:
        # Bytes pymodbus keeps waiting to complete; if the answer times out, they say why.
        self._leftover = count


class Links:
    """Hands out one :class:`Link` per physical link to the drivers of the devices on it."""

    def __init__(self) -> None:
        self._links: dict[tuple[object, ...], Link] = {}

    def acquire(self, settings: LinkSettings, user: str, pause: float = 0.0) -> Link:
        """The link for ``settings``, shared with other users of it; raise LinkConflict
        when another device names the same port with different line settings."""
        # One event loop's lock and client cannot serve another loop (tests run several).
        key = (asyncio.get_running_loop(), *settings.key)
        link = self._links.get(key)
        if link is None:
            link = self._links[key] = Link(settings)
        elif link.settings != settings:
            other = next(iter(link.users), "another device")
            differ = [
                f.name
                for f in fields(settings)
                if getattr(settings, f.name) != getattr(link.settings, f.name)
            ]
            raise LinkConflict(
                f"{user!r} and {other!r} share {settings.describe().split(' ')[0]} but differ in "
                f"{', '.join(differ)}: one line has one setting; make them equal"
            )
        link.users[user] = pause
        link.pause = max(link.users.values())
        return link

    def release(self, link: Link, user: str) -> None:
        """``user`` is done with ``link``; the last user closes it."""
        link.users.pop(user, None)
        if link.users:
            link.pause = max(link.users.values())
            return
        link.close()
        for key, known in list(self._links.items()):
            if known is link:
                del self._links[key]


#: The links of this process: drivers of devices on one port share one link through it.
LINKS = Links()
