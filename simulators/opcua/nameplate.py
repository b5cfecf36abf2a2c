"""Who a simulated OPC UA machine says it is: the server's BuildInfo and the machine's DI nameplate.

Both machines fill ServerStatus/BuildInfo as their controllers' servers do. The CNC lathe
also carries the Devices companion specification's ``Identification`` object below its
machine node (namespace ``http://opcfoundation.org/UA/DI/``, as umati machine tools have
it): Manufacturer and Model (LocalizedText), SerialNumber and SoftwareRevision. The
makers are made up; a test changes :attr:`Nameplate.software` and restarts the machine
to upgrade it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncua import Server, ua

DI_NAMESPACE = "http://opcfoundation.org/UA/DI/"


@dataclass
class Nameplate:
    """The machine's identity (DI) and its OPC UA server's (BuildInfo)."""

    manufacturer: str
    model: str
    serial: str
    software: str
    server_vendor: str
    server_product: str
    server_version: str
    build: str

    @classmethod
    def of(cls, name: str, kind: str) -> Nameplate:
        """The made-up nameplate of simulated machine ``name`` (the same on every run)."""
        number = zlib.crc32(f"{kind}/{name}".encode()) % 1_000_000
        if kind == "cnc":
            return cls(
                "Simulated Machine Tools",
                "CT-310 turning centre",
                f"CT310-{number:06d}",
                ("4.8.2", "4.9.0")[number % 2],
                "Simulated Controls",
                "SimCNC OPC UA server",
                "2.3.1",
                "2311",
            )
        return cls(
            "Simulated Controls",
            "PLC-1500 training rig",
            f"RIG-{number:06d}",
            "3.0.4",
            "Simulated Controls",
            "SimPLC OPC UA server",
            ("3.0.4", "3.1.0")[number % 2],
            "304",
        )


async def set_build_info(server: Server, plate: Nameplate, application_uri: str) -> None:
    """Fill ServerStatus/BuildInfo."""
    await server.set_build_info(
        application_uri,
        plate.server_vendor,
        plate.server_product,
        plate.server_version,
        plate.build,
        datetime(2026, 1, 15, tzinfo=UTC),
    )


async def add_identification(server: Server, machine: Any, node_ns: int, name: str, plate: Nameplate) -> None:
    """The DI ``Identification`` object below ``machine`` with its four properties."""
    di = await server.register_namespace(DI_NAMESPACE)
    identification = await machine.add_object(
        ua.NodeId(f"{name}.Identification", node_ns), ua.QualifiedName("Identification", di)
    )
    text = ua.VariantType.LocalizedText
    for browse, value in (
        ("Manufacturer", ua.Variant(ua.LocalizedText(plate.manufacturer, "en"), text)),
        ("Model", ua.Variant(ua.LocalizedText(plate.model, "en"), text)),
        ("SerialNumber", ua.Variant(plate.serial, ua.VariantType.String)),
        ("SoftwareRevision", ua.Variant(plate.software, ua.VariantType.String)),
    ):
        await identification.add_property(
            ua.NodeId(f"{name}.Identification.{browse}", node_ns), ua.QualifiedName(browse, di), value
        )
