"""pymodbus glue: one Modbus TCP server serving one simulated device.

pymodbus 3.16 keeps register memory in a ``SimDevice`` built from ``SimData``
blocks (the old ``ModbusSequentialDataBlock``/``ModbusDeviceContext`` classes
are deprecated wrappers around it, and custom ``getValues`` datablocks no
longer exist).  The hook for live values is ``SimDevice.action``: an async
callback run on every access *before* the response is sliced out of the
block, which may rewrite the block in place.  We recompute the accessed table
there, so every read sees values for the current instant.

The action is not told the exact bit count of coil/discrete reads, and an
unknown unit id makes the stock ``SimCore`` fail with a KeyError (logged with
a traceback, answered as DEVICE_FAILURE).  A small ``SimCore`` subclass,
installed as the server context, therefore answers unknown unit ids with
GATEWAY_NO_RESPONSE (or, on an RTU bus, not at all) and writes the journal with
the exact values served.  It also serves the runtime's injected faults: address
holes that answer ILLEGAL_ADDRESS and a number of DEVICE_BUSY answers.  Each
device states its maker's identity (identity.py): Read Device Identification
(function code 43) answered per device, and the meters' SunSpec common model at
holding register 40000.

Every server keeps ``function_codes``, a count of the function codes of every
request it received (reads, and writes it refused), taken from pymodbus'
``trace_pdu`` hook before any request is handled.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Final

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simcore import SimCore

from .identity import Identification, MakerIdentity, maker_identity, sunspec_values
from .journal import Journal
from .models import DeviceModel, Sample
from .profiles import BIT_TABLES, RegisterSpec, Table, register_map, table_sizes
from .registers import encode, pack_bits

Clock = Callable[[], float]

# Read function codes and the table they read.  23 (read/write multiple)
# reads holding registers too; writes (5, 6, 15, 16) are not journaled.
READ_TABLES: Final[dict[int, Table]] = {1: "coil", 2: "discrete", 3: "holding", 4: "input", 23: "holding"}
_ACCESS_TABLES: Final[dict[int, Table]] = {
    **READ_TABLES,
    5: "coil",
    15: "coil",
    6: "holding",
    16: "holding",
    22: "holding",
}
# SimDevice's non-shared layout: (coils, discrete inputs, holding, input).
_TUPLE_ORDER: Final[tuple[Table, ...]] = ("coil", "discrete", "holding", "input")


class DeviceRuntime:
    """Live register contents of one device, computed from its model on access."""

    def __init__(
        self,
        name: str,
        unit: int,
        model: DeviceModel,
        clock: Clock,
        wall_clock: Clock = time.time,
    ):
        """Bind a device name and unit id to a model and a simulated-time clock.

        ``clock`` gives simulated time (drives the model); ``wall_clock`` gives
        the real time stamped into the journal.
        """
        self.name = name
        self.unit = unit
        self.model = model
        self.clock = clock
        self.wall_clock = wall_clock
        self.sizes = table_sizes(model.kind)
        self.specs: dict[Table, list[RegisterSpec]] = {}
        for spec in register_map(model.kind):
            self.specs.setdefault(spec.table, []).append(spec)
        self.last_t_ms = 0
        self._high_water: dict[str, float] = {}
        #: Injected faults: addresses per table that answer ILLEGAL_ADDRESS when a read
        #: touches them, and how many of the next reads answer DEVICE_BUSY.
        self.holes: dict[Table, frozenset[int]] = {}
        self.busy_replies = 0
        #: What the device states about itself (FC 43, SunSpec); None refuses FC 43
        #: (exception 1); ``identity_raw`` answers FC 43 with these bytes instead (garbage).
        self.identity: MakerIdentity | None = maker_identity(model.kind, name)
        self.identity_raw: bytes | None = None

    def refusal(self, func_code: int, address: int, count: int) -> ExcCodes | None:
        """The exception an injected fault makes this read answer, if any."""
        table = READ_TABLES.get(func_code)
        if table is None:
            return None
        if self.busy_replies > 0:
            self.busy_replies -= 1
            return ExcCodes.DEVICE_BUSY
        holes = self.holes.get(table)
        if holes and any(a in holes for a in range(address, address + count)):
            return ExcCodes.ILLEGAL_ADDRESS
        return None

    def sample(self, t: float | None = None) -> Sample:
        """Engineering values at simulated time ``t`` (default: now)."""
        values = self.model.sample(self.clock() if t is None else t)
        # why: a wall clock stepping back must not make a counter go back.
        for field in self.model.counters:
            value = max(float(values[field]), self._high_water.get(field, float("-inf")))
            self._high_water[field] = values[field] = value
        return values

    def render_bits(self, table: Table, values: Sample) -> list[bool]:
        """Lay ``values`` out as the bits of a coil/discrete table (from 0)."""
        bits = [False] * self.sizes[table]
        for spec in self.specs[table]:
            bits[spec.address] = bool(values[spec.field])
        return bits

    def render_words(self, table: Table, values: Sample) -> list[int]:
        """Lay ``values`` out as the raw words of a register table (from 0)."""
        words = [0] * self.sizes[table]  # unmapped addresses read as 0, like the SDM630
        for spec in self.specs[table]:
            assert spec.order is not None and spec.scale is not None  # register table
            raw = encode(float(values[spec.field]), spec.type, spec.order, spec.scale)
            words[spec.address : spec.address + len(raw)] = raw
        return words

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """SimDevice access hook: refresh the accessed table before it is served."""
        # address/count are ignored: refreshing the whole (small) table is simpler
        # and, for bit tables, count is the word count, not the bit count.
        table = _ACCESS_TABLES.get(function_code)
        if table is None or table not in self.sizes or set_values is not None:
            # no such table on this device, or a write: the devices are read-only.
            return ExcCodes.ILLEGAL_ADDRESS
        self.last_t_ms = int(self.wall_clock() * 1000)
        values = self.sample()
        if table in BIT_TABLES:
            words = pack_bits(self.render_bits(table, values))
        else:
            words = self.render_words(table, values)
        # in place: pymodbus slices the response out of this very list.  Our
        # blocks all start at address 0, so the list index is the address.
        current_registers[: len(words)] = words
        return None

    def sim_device(self) -> SimDevice:
        """Build the pymodbus ``SimDevice`` with one block per Modbus table.

        Tables the device lacks still need a block (SimDevice requires all four
        lists); an INVALID register block, or for bit tables a bit block the
        action refuses, makes reads of them fail with ILLEGAL_ADDRESS.
        """
        blocks: list[list[SimData]] = []
        for table in _TUPLE_ORDER:
            size = self.sizes.get(table)
            if table in BIT_TABLES:
                blocks.append([SimData(0, values=[False] * (size or 1), datatype=DataType.BITS)])
            elif size is None:
                blocks.append([SimData(0, datatype=DataType.INVALID)])
            else:
                blocks.append([SimData(0, count=size, values=0, datatype=DataType.REGISTERS, readonly=True)])
        return SimDevice(
            id=self.unit,
            simdata=(blocks[0], blocks[1], blocks[2], blocks[3]),
            action=self.action,
        )


class CampusCore(SimCore):
    """Server context: routes unit ids to runtimes, serves faults and journals reads.

    With ``silent_unknown`` an unknown unit id gets no answer at all, as on an RS-485
    bus (the server must then be built with ``ignore_missing_devices=True``); otherwise
    it gets GATEWAY_NO_RESPONSE, as from a Modbus TCP gateway.
    """

    def __init__(
        self,
        runtimes: DeviceRuntime | Sequence[DeviceRuntime],
        journal: Journal | None,
        *,
        silent_unknown: bool = False,
    ):
        """Serve ``runtimes``; journal their reads into ``journal`` if given."""
        units = [runtimes] if isinstance(runtimes, DeviceRuntime) else list(runtimes)
        super().__init__([runtime.sim_device() for runtime in units])
        self.units = {runtime.unit: runtime for runtime in units}
        self.runtime = units[0]
        self.journal = journal
        self.silent_unknown = silent_unknown

    def _unknown(self, device_id: int) -> ExcCodes:
        if self.silent_unknown:
            # the server's ignore_missing_devices turns this into silence.
            raise NoSuchIdException(f"no unit {device_id} on this bus")
        # what a Modbus TCP gateway answers for an absent unit; returned, not
        # raised, since pymodbus logs a raised NoSuchIdException as an ERROR
        # with a dump of the last 20 frames.
        return ExcCodes.GATEWAY_NO_RESPONSE

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        """Serve a read; journal it if it succeeded."""
        runtime = self.units.get(device_id)
        if runtime is None:
            return self._unknown(device_id)
        refusal = runtime.refusal(func_code, address, count)
        if refusal is not None:
            return refusal
        if func_code == 3 and (common := sunspec_values(runtime.identity, address, count)) is not None:
            return common
        result = await super().async_getValues(device_id, func_code, address, count)
        if self.journal is not None and isinstance(result, list) and func_code in READ_TABLES:
            # the action ran inside that call and nothing since has yielded to the
            # event loop, so last_t_ms is this read's.
            table = READ_TABLES[func_code]
            self.journal.record(runtime.last_t_ms, runtime.name, table, address, result)
        return result

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: list[int] | list[bool]
    ) -> ExcCodes | None:
        """Refuse writes to other unit ids like reads; the action refuses the rest."""
        if device_id not in self.units:
            return self._unknown(device_id)
        return await super().async_setValues(device_id, func_code, address, values)


class FunctionLog:
    """Counts the function code of every request a server receives (a ``trace_pdu`` hook)."""

    def __init__(self) -> None:
        """Start with nothing received."""
        self.function_codes: Counter[int] = Counter()

    def trace(self, sending: bool, pdu: Any) -> Any:
        """Count a received request; pass every PDU on unchanged."""
        if not sending:
            self.function_codes[int(pdu.function_code)] += 1
        return pdu


class DeviceServer(ModbusTcpServer):
    """Modbus TCP server for one simulated device."""

    def __init__(self, runtime: DeviceRuntime, host: str, port: int, journal: Journal | None = None):
        """Prepare (not yet listen) a server for ``runtime`` on ``host:port``."""
        core = CampusCore(runtime, journal)
        self.function_log = FunctionLog()
        super().__init__(
            runtime.sim_device(),
            address=(host, port),
            trace_pdu=self.function_log.trace,
            custom_pdu=[Identification],
        )
        # why: the base class wraps the SimDevice in a plain SimCore; ours adds
        # the unit-id check and the journal.
        self.context = core
        self.runtime = runtime

    @property
    def function_codes(self) -> Counter[int]:
        """Function codes of every request received so far."""
        return self.function_log.function_codes

    async def close_server(self) -> None:
        """Stop listening and drop every client connection."""
        await self.shutdown()  # type: ignore[no-untyped-call]  # untyped in pymodbus 3.16


def rtu_server(
    runtimes: Sequence[DeviceRuntime],
    journal: Journal | None,
    *,
    serial: str | None = None,
    host: str | None = None,
    port: int = 0,
) -> tuple[ModbusSerialServer | ModbusTcpServer, FunctionLog]:
    """A server for several units on one RTU line: on a serial port, or RTU over TCP.

    Like an RS-485 bus, an absent unit id gets no answer. Returns the server (not yet
    serving) and the log of function codes it receives.
    """
    log = FunctionLog()
    server: ModbusSerialServer | ModbusTcpServer
    devices = [runtime.sim_device() for runtime in runtimes]
    if serial is not None:
        server = ModbusSerialServer(
            devices,
            port=serial,
            framer=FramerType.RTU,
            ignore_missing_devices=True,
            trace_pdu=log.trace,
            custom_pdu=[Identification],
        )
    else:
        assert host is not None
        server = ModbusTcpServer(
            devices,
            address=(host, port),
            framer=FramerType.RTU,
            ignore_missing_devices=True,
            trace_pdu=log.trace,
            custom_pdu=[Identification],
        )
    # why: as in DeviceServer, our core adds routing, faults and the journal.
    server.context = CampusCore(runtimes, journal, silent_unknown=True)
    return server, log
