"""Who each simulated Modbus device says it is: FC 43 answers and a SunSpec common model.

Every simulated device has a maker's identity (:func:`maker_identity`): the objects of
Read Device Identification (function code 43, MEI type 14) and, for the energy meters, a
SunSpec common model at holding register 40000 that carries the serial number. The makers
are made up ("Simulated ..."), so nothing here passes for a real product; the firmware
differs from device to device, so a register of the demo campus has something to find.

pymodbus' own server answers FC 43 from one identity per process (a global control
block), and a simulated campus runs many devices in one process; :class:`Identification`
is the request class the simulated servers use instead, answering from each device's
runtime (``DeviceRuntime.identity``): ``None`` refuses FC 43 with exception 1, and
``identity_raw`` (bytes after the function code) makes the device answer garbage.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.mei_message import ReadDeviceInformationResponse

#: Where SunSpec devices keep their models; the common model (1) with its 66 registers.
SUNSPEC_BASE = 40000
_SUNSPEC = (0x5375, 0x6E53)
_COMMON_LENGTH = 66
#: Regular identification, stream and individual access.
CONFORMITY = 0x82


@dataclass(frozen=True)
class MakerIdentity:
    """What one simulated device states about itself."""

    vendor: str
    product_code: str
    revision: str
    model_name: str
    product_name: str = ""
    vendor_url: str = ""
    application: str = ""
    serial: str = ""
    #: Answer the SunSpec common model at 40000 (the meters do).
    sunspec: bool = False

    def objects(self) -> dict[int, bytes]:
        """The FC 43 objects by id (basic 0-2, regular 3-6), the empty ones left out."""
        texts = (
            self.vendor,
            self.product_code,
            self.revision,
            self.vendor_url,
            self.product_name,
            self.model_name,
            self.application,
        )
        return {i: text.encode() for i, text in enumerate(texts) if text}

    def common_model(self) -> list[int]:
        """The registers from 40000: ``SunS``, model 1 of length 66 (Mn, Md, Opt, Vr, SN, DA)."""
        words = [*_SUNSPEC, 1, _COMMON_LENGTH]
        for text, size in (
            (self.vendor, 16),
            (self.model_name, 16),
            ("", 8),
            (self.revision, 8),
            (self.serial, 16),
        ):
            raw = text.encode()[: 2 * size].ljust(2 * size, b"\x00")
            words += list(struct.unpack(f">{size}H", raw))
        return [*words, 1, 0]  # DA (the device's Modbus address) and the pad


#: Per kind: vendor, product code, model name, product name, firmware versions in use.
_MAKERS: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "classroom-iaq": (
        "Simulated Sensors",
        "SIM-IAQ6",
        "IAQ-6 classroom air monitor",
        "Indoor air quality transmitter",
        ("2.1.4", "2.3.0"),
    ),
    "energy-meter-3ph": (
        "Simulated Metering",
        "SIM-EM3",
        "EM3 three-phase meter",
        "Three-phase energy meter",
        ("3.2.7", "3.3.1"),
    ),
    "training-machine": (
        "Simulated Machine Tools",
        "SIM-CNC2",
        "CNC-2 training lathe",
        "Training lathe controller",
        ("5.0.2", "5.1.0"),
    ),
}


def maker_identity(kind: str, name: str) -> MakerIdentity:
    """The identity of simulated device ``name`` of ``kind`` (the same on every run)."""
    vendor, code, model, product, versions = _MAKERS[kind]
    number = zlib.crc32(f"{kind}/{name}".encode())
    return MakerIdentity(
        vendor=vendor,
        product_code=code,
        revision=versions[number % len(versions)],
        model_name=model,
        product_name=product,
        vendor_url="https://simulated.invalid/",
        application=name,
        serial=f"{code[4:]}-{number % 1_000_000:06d}",
        sunspec=kind == "energy-meter-3ph",
    )


class Identified(Protocol):
    """A simulated device as the identification request needs it."""

    identity: MakerIdentity | None
    identity_raw: bytes | None


class _Raw(ModbusPDU):
    """An answer to FC 43 made of given bytes (a device that answers garbage)."""

    function_code = 0x2B

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def encode(self) -> bytes:
        return self.body


class Identification(ModbusPDU):
    """Read Device Identification as the simulated servers answer it: per device, not per process."""

    function_code = 0x2B
    rtu_frame_size = 7

    def __init__(
        self, read_code: int = 1, object_id: int = 0, dev_id: int = 1, transaction_id: int = 0
    ) -> None:
        super().__init__(transaction_id=transaction_id, dev_id=dev_id)
        self.mei_type = 0x0E
        self.read_code = read_code
        self.object_id = object_id

    def encode(self) -> bytes:
        return struct.pack(">BBB", self.mei_type, self.read_code, self.object_id)

    def decode(self, data: bytes) -> None:
        self.mei_type, self.read_code, self.object_id = struct.unpack(">BBB", data[:3])

    async def datastore_update(self, context: Any, device_id: int) -> ModbusPDU:
        """Answer from the device's identity (``context`` is the simulators' CampusCore)."""
        device: Identified | None = context.units.get(device_id)
        if device is None:
            if context.silent_unknown:
                raise NoSuchIdException(f"no unit {device_id} on this bus")
            return ExceptionResponse(self.function_code, ExcCodes.GATEWAY_NO_RESPONSE)
        if self.mei_type != 0x0E:
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_FUNCTION)
        if device.identity_raw is not None:
            return _Raw(device.identity_raw)
        if device.identity is None:
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_FUNCTION)
        if self.read_code not in (1, 2, 3, 4):
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE)
        objects = device.identity.objects()
        if self.read_code == 4:
            if self.object_id not in objects:
                return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_ADDRESS)
            wanted = [self.object_id]
        else:
            last = 2 if self.read_code == 1 else 6
            start = self.object_id if self.object_id in objects else 0
            wanted = [i for i in sorted(objects) if start <= i <= last]
        response = ReadDeviceInformationResponse(
            read_code=self.read_code,
            information={i: objects[i] for i in wanted},
            dev_id=device_id,
            transaction_id=self.transaction_id,
        )
        response.conformity = CONFORMITY
        return response


def sunspec_values(identity: MakerIdentity | None, address: int, count: int) -> list[int] | None:
    """Holding registers ``address``.. of the common model, or None when the read is not in it."""
    if identity is None or not identity.sunspec:
        return None
    words = identity.common_model()
    start = address - SUNSPEC_BASE
    if start < 0 or start + count > len(words):
        return None
    return words[start : start + count]
