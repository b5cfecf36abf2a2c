"""EDE files as the tests write them: of what a simulated BACnet controller serves, or row by row.

The layout is B.I.G.-EU's 2.3, as BMS tools write it: a title line, the project's lines,
the mandatory/optional line, the header, then one ``;``-separated row per object, types and
units as numbers (taken from bacpypes3's enumerations, as a controller's tool would).
"""

from __future__ import annotations

from pathlib import Path

from bacpypes3.basetypes import EngineeringUnits, ObjectType

from campus_core.suffixes import field_suffix
from simulators.bacnet import BacnetSimDevice
from simulators.bacnet.models import AHU_MODES

HEAD = (
    "# Engineering-Data-Exchange - B.I.G.-EU",
    "PROJECT_NAME;Campus A plant room",
    "VERSION_OF_REFERENCEFILE;3",
    "TIMESTAMP_OF_LAST_CHANGE;01.09.2025",
    "AUTHOR_OF_LAST_CHANGE;BMS integrator",
    "VERSION_OF_LAYOUT;2.3",
    "#mandatory;mandatory;mandatory;mandatory;mandatory;" + ";".join(["optional"] * 11),
    "# keyname;device obj.-instance;object-name;object-type;object-instance;description;"
    "present-value-default;min-present-value;max-present-value;settable;supports COV;hi-limit;"
    "low-limit;state-text-reference;unit-code;vendor-specific-address",
)
#: The rows of the file above start at this row number (the header is row 8).
FIRST_ROW = len(HEAD) + 1
#: The state texts file's references: the AHU's modes, and binary objects' Off/On.
MODES, OFF_ON = 1, 2


def row(
    keyname: str,
    device: int | str,
    name: str,
    kind: int | str,
    instance: int | str,
    description: str = "",
    *,
    state: int | str = "",
    unit: int | str = "",
) -> str:
    """One object's row: the mandatory columns, the description, state-text-reference, unit-code."""
    cells = [
        keyname,
        device,
        name,
        kind,
        instance,
        description,
        "",
        "",
        "",
        "N",
        "Y",
        "",
        "",
        state,
        unit,
        "",
    ]
    return ";".join(str(c) for c in cells)


def keyname(key: str) -> str:
    """How the integrator keys a point: ``supply_air_temp_c`` -> ``SupplyAirTemp``."""
    stem = key.removesuffix("_code")
    suffix = field_suffix(stem)
    if suffix is not None:
        stem = stem.removesuffix(f"_{suffix}")
    return "".join(word.title() for word in stem.split("_"))


def served(device: BacnetSimDevice) -> list[str]:
    """The rows of every object ``device`` serves, its device object first, as its tool exports them.

    A controller's export also lists what holds no value to poll: a schedule and a trend log.
    """
    rows = [row(device.name.upper(), device.instance, device.name, 8, device.instance, f"sim-{device.kind}")]
    for point in device.points:
        units = device.units_of(point)
        state: int | str = ""
        if point.object_type.startswith("multi-state"):
            state = MODES
        elif point.object_type.startswith("binary"):
            state = OFF_ON
        rows.append(
            row(
                keyname(point.key),
                device.instance,
                point.name,
                int(ObjectType(point.object_type)),
                point.instance,
                point.key.replace("_", " "),
                state=state,
                unit=int(EngineeringUnits(units)) if units else "",
            )
        )
    rows.append(row("OccSchedule", device.instance, "OCC-SCHED", 17, 1, "occupancy schedule"))
    rows.append(row("SatLog", device.instance, "SAT-TL", 20, 1, "supply air temperature log"))
    return rows


def write_ede(folder: Path, rows: list[str], name: str = "CampusA_EDE.csv", *, states: bool = True) -> Path:
    """The EDE file of ``rows`` in ``folder``, with its state texts file beside it unless not ``states``."""
    path = folder / name
    path.write_text("\r\n".join([*HEAD, *rows]) + "\r\n", encoding="utf-8")
    if states:
        texts = folder / name.replace("_EDE", "_StateTexts")
        texts.write_text(
            "#State Text Reference\r\n"
            "#Reference Number;Text 1 or Inactive-Text;Text 2 or Active-Text;Text 3;Text 4;Text 5\r\n"
            f"{MODES};{';'.join(AHU_MODES)}\r\n{OFF_ON};Off;On;;;\r\n",
            encoding="utf-8",
        )
    return path
