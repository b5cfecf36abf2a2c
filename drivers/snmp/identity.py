"""What an SNMP device states about itself: the system group and, where present, ENTITY-MIB.

One GET of sysDescr, sysObjectID, sysName, sysLocation and sysContact (SNMPv2-MIB). Then
ENTITY-MIB (RFC 4133): the entPhysicalClass column is walked, at most
:data:`MAX_ENTITIES` rows, for the chassis (class 3; the first entity in nothing else when
no row says chassis), and one GET reads its model name, serial number, software and
firmware revisions, hardware revision and maker. An agent without ENTITY-MIB answers the
walk with the end of its view (or an error), which costs one request. Values the device does not have
are left out; text is cleaned by :class:`campus_core.identity.Identity`.
"""

from __future__ import annotations

from campus_core.identity import Identity, RawText

from .config import SnmpDevice
from .convert import Raw
from .mibs import Oid, format_oid
from .reads import Anomalies, Sample, get_values, walk
from .session import Session, SnmpError

SYSTEM: Oid = (1, 3, 6, 1, 2, 1, 1)
SYS_DESCR, SYS_OBJECT_ID, SYS_CONTACT = (*SYSTEM, 1, 0), (*SYSTEM, 2, 0), (*SYSTEM, 4, 0)
SYS_NAME, SYS_LOCATION = (*SYSTEM, 5, 0), (*SYSTEM, 6, 0)
#: entPhysicalEntry and the columns read (RFC 4133).
ENT_PHYSICAL: Oid = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
CONTAINED_IN, CLASS = 4, 5
HARDWARE_REV, FIRMWARE_REV, SOFTWARE_REV, SERIAL_NUM, MFG_NAME, MODEL_NAME = 8, 9, 10, 11, 12, 13
CHASSIS = 3
#: Physical entities looked through for the chassis (it is nearly always the first).
MAX_ENTITIES = 64


async def read_identity(session: Session, config: SnmpDevice) -> Identity:
    """What the device states now; raises the session's :class:`SnmpError` when it does not answer."""
    anomalies = Anomalies()
    system = await get_values(
        session,
        [SYS_DESCR, SYS_OBJECT_ID, SYS_NAME, SYS_LOCATION, SYS_CONTACT],
        config.max_varbinds,
        anomalies,
    )
    chassis = await _chassis(session, config, anomalies)
    object_id = _raw(system, SYS_OBJECT_ID)
    values: list[tuple[str, RawText]] = [
        ("vendor", _text(chassis.get(MFG_NAME))),
        ("model", _text(chassis.get(MODEL_NAME))),
        ("firmware", _text(chassis.get(SOFTWARE_REV))),
        ("firmware", _text(chassis.get(FIRMWARE_REV))),
        ("serial", _text(chassis.get(SERIAL_NUM))),
        ("hardware", _text(chassis.get(HARDWARE_REV))),
        ("description", _text(_raw(system, SYS_DESCR))),
        ("product_id", format_oid(object_id.oid) if object_id is not None and object_id.oid else None),
        ("sys_name", _text(_raw(system, SYS_NAME))),
        ("location", _text(_raw(system, SYS_LOCATION))),
        ("contact", _text(_raw(system, SYS_CONTACT))),
    ]
    software, firmware = _text(chassis.get(SOFTWARE_REV)), _text(chassis.get(FIRMWARE_REV))
    if software and firmware != software:
        values.append(("firmware_rev", firmware))
    return Identity.stated(values)


async def _chassis(session: Session, config: SnmpDevice, anomalies: Anomalies) -> dict[int, Raw]:
    """The chassis' columns by number, or nothing when the device has no ENTITY-MIB."""
    columns = [(*ENT_PHYSICAL, CLASS), (*ENT_PHYSICAL, CONTAINED_IN)]
    try:
        rows = await walk(
            session,
            columns,
            bulk=config.version != "1",
            max_repetitions=min(config.max_repetitions, MAX_ENTITIES),
            max_varbinds=config.max_varbinds,
            max_rows=MAX_ENTITIES,
            anomalies=anomalies,
        )
    except SnmpError as exc:
        if exc.timeout:
            raise
        return {}  # an agent that answers the walk with an error has no ENTITY-MIB for us
    classes, parents = rows.get(columns[0], {}), rows.get(columns[1], {})
    index = next((i for i, (raw, _) in classes.items() if raw.number == CHASSIS), None)
    if index is None:
        index = next((i for i, (raw, _) in parents.items() if raw.number == 0), None)
    if index is None:
        return {}
    wanted = [HARDWARE_REV, FIRMWARE_REV, SOFTWARE_REV, SERIAL_NUM, MFG_NAME, MODEL_NAME]
    found = await get_values(
        session, [(*ENT_PHYSICAL, column, *index) for column in wanted], config.max_varbinds, anomalies
    )
    out: dict[int, Raw] = {}
    for column in wanted:
        raw = _raw(found, (*ENT_PHYSICAL, column, *index))
        if raw is not None:
            out[column] = raw
    return out


def _raw(values: dict[Oid, Sample], oid: Oid) -> Raw | None:
    sample = values.get(oid)
    if sample is None or sample[0].missing:
        return None
    return sample[0]


def _text(raw: Raw | None) -> bytes | None:
    """An OCTET STRING's bytes (DisplayString, SnmpAdminString); None for anything else."""
    if raw is None or raw.type != "octets":
        return None
    return raw.octets
