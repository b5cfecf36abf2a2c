"""What an OPC UA server states about itself and its machine: BuildInfo and DI identification.

Every server has ServerStatus/BuildInfo (ProductUri, ManufacturerName, ProductName,
SoftwareVersion, BuildNumber): one Read of five nodes. A machine that follows the
Devices companion specification (OPC 10000-100, used by umati's machine tools) has an
``Identification`` object below its own node, in the DI namespace, with Manufacturer,
Model, SerialNumber and SoftwareRevision: looked for below the device's ``root`` (the
machine's node), by browse path, when the server has the DI namespace. When the machine
names itself that way, those values are the asset's and BuildInfo's describe the server
software (``server_product``, ``server_version``); otherwise BuildInfo's are the asset's.
"""

from __future__ import annotations

from typing import Any

from asyncua import ua

from campus_core.identity import Identity, RawText

from .session import Session

DI_NAMESPACE = "http://opcfoundation.org/UA/DI/"
#: ServerStatus/BuildInfo's variables, in the order read.
BUILD_INFO = {
    "product_uri": ua.ObjectIds.Server_ServerStatus_BuildInfo_ProductUri,
    "manufacturer": ua.ObjectIds.Server_ServerStatus_BuildInfo_ManufacturerName,
    "product": ua.ObjectIds.Server_ServerStatus_BuildInfo_ProductName,
    "version": ua.ObjectIds.Server_ServerStatus_BuildInfo_SoftwareVersion,
    "build": ua.ObjectIds.Server_ServerStatus_BuildInfo_BuildNumber,
}
#: The DI identification properties read, by what they become.
DI_PROPERTIES = {
    "vendor": "Manufacturer",
    "model": "Model",
    "serial": "SerialNumber",
    "firmware": "SoftwareRevision",
}


async def read_identity(session: Session) -> Identity:
    """What the server and its machine state now (on the open session)."""
    client = session.client
    nodes = [ua.NodeId(number) for number in BUILD_INFO.values()]
    session.reads += 1
    answers = await client.uaclient.read_attributes(nodes, ua.AttributeIds.Value)
    build = {key: _text(value) for key, value in zip(BUILD_INFO, answers, strict=True)}
    machine = await _machine(session)
    values: list[tuple[str, RawText]]
    if any(machine.values()):
        values = [(key, machine.get(key)) for key in DI_PROPERTIES]
        values += [("server_product", build["product"]), ("server_version", build["version"])]
    else:
        values = [
            ("vendor", build["manufacturer"]),
            ("model", build["product"]),
            ("firmware", build["version"]),
        ]
    values += [("build", build["build"]), ("product_uri", build["product_uri"])]
    return Identity.stated(values)


async def _machine(session: Session) -> dict[str, str | None]:
    """The DI identification below the device's root; empty without a root or the DI namespace."""
    if session.config.root is None:
        return {}
    namespaces: list[str] = await session.client.get_namespace_array()
    if DI_NAMESPACE not in namespaces:
        return {}
    di = namespaces.index(DI_NAMESPACE)
    paths: list[list[tuple[int | None, str]]] = [
        [(di, "Identification"), (di, name)] for name in DI_PROPERTIES.values()
    ]
    found = await session.find(paths, namespaces)
    present = [(key, node) for key, (node, _) in zip(DI_PROPERTIES, found, strict=True) if node is not None]
    if not present:
        return {}
    session.reads += 1
    answers = await session.client.uaclient.read_attributes(
        [node for _, node in present], ua.AttributeIds.Value
    )
    return {key: _text(value) for (key, _), value in zip(present, answers, strict=True)}


def _text(data: Any) -> str | None:
    """A DataValue's text (String, LocalizedText, or a number written out); None when Bad or empty."""
    status = getattr(data, "StatusCode_", None)
    if status is not None and not status.is_good():
        return None
    variant = getattr(data, "Value", None)
    raw = getattr(variant, "Value", None)
    if isinstance(raw, ua.LocalizedText):
        return raw.Text or None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    return None
