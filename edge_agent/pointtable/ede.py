"""BACnet EDE files (B.I.G.-EU Engineering Data Exchange, layout 2.x): a device's objects as ``[[objects]]``.

An EDE file is the CSV (``;``-separated) a BACnet integrator, or a controller's tool, writes
of a project: header lines (``PROJECT_NAME``, ``VERSION_OF_REFERENCEFILE``, ...,
``VERSION_OF_LAYOUT``), then one row per object under the columns

    # keyname;device obj.-instance;object-name;object-type;object-instance;description;
    present-value-default;min-present-value;max-present-value;settable;supports COV;
    hi-limit;low-limit;state-text-reference;unit-code;vendor-specific-address

Object types and units are numbers (object-type 0 is analog-input; unit-code 62 is
degrees-celsius). Columns are found by their names where the header has them, else at
their place in layout 2.x, as the format is positional. Each object the agent reads becomes
``object = "analog-input,1"`` with:

- numbers (analog, integer, accumulator...): a field named from the object name through the
  glossary, else from the keyname (``SupplyAirTemp`` -> ``supply_air_temp``), with the suffix
  of its unit-code in the one BACnet table (:mod:`campus_core.bacnet_units`), the suffix the
  driver writes it under: an object in °F gets ``_c``, as the driver converts it;
- binary objects: a boolean field, without unit;
- multi-state objects: a field ``<name>_code``, the state's number, and a ``state_tag`` with
  the state's text only where the row gives a state-text-reference, the table's word that
  the device names its states;
- characterstring-value objects: a tag.

The device object, and objects that hold no value to poll (schedules, trend logs,
notification classes, a vendor's own), are left out and counted. A file may list the objects
of several devices; a profile is one device model, so ``--device INSTANCE`` picks one. The
state texts file beside it by the EDE naming convention (``X_EDE.csv`` -> ``X_StateTexts.csv``)
is read when present: a reference it lacks is a problem, and each multi-state object's
states are written in its comment.
"""

from __future__ import annotations

import re
from pathlib import Path

from campus_core.bacnet_units import name_of, suffix_of_units
from campus_core.names import is_snake_case
from campus_core.suffixes import unit_for_suffix
from drivers.bacnet.config import ANALOG, BINARY, MAX_INSTANCE, MULTI_STATE, TEXT

from . import cells
from .csvfile import read_csv
from .draft import Draft, Entry, Options
from .naming import NamingError, glossary, name_point, snake_case
from .problems import PointTableError, TableProblem
from .sheet import HEADER_WITHIN, Row, Sheet, Table, column_key

NAME = "ede"
PROTOCOLS = frozenset({"bacnet"})

#: Column key -> its place in layout 2.x and the names tools write it with.
COLUMNS: dict[str, tuple[int, tuple[str, ...]]] = {
    "keyname": (0, ("keyname", "key name")),
    "device": (
        1,
        ("device obj.-instance", "device-obj-instance", "device object instance", "device instance"),
    ),
    "object_name": (2, ("object-name", "object name")),
    "object_type": (3, ("object-type", "object type")),
    "instance": (4, ("object-instance", "object instance")),
    "description": (5, ("description",)),
    "state_texts": (13, ("state-text-reference", "state text reference", "state-text-ref")),
    "unit": (14, ("unit-code", "unit code")),
}
#: The columns EDE makes mandatory and the import needs.
MANDATORY = ("keyname", "device", "object_name", "object_type", "instance")
#: Object-type numbers of the objects the agent reads (BACnet's ObjectType enumeration).
READ = {
    0: "analog-input", 1: "analog-output", 2: "analog-value", 3: "binary-input", 4: "binary-output",
    5: "binary-value", 12: "loop", 13: "multi-state-input", 14: "multi-state-output",
    19: "multi-state-value", 23: "accumulator", 24: "pulse-converter", 40: "characterstring-value",
    45: "integer-value", 46: "large-analog-value", 48: "positive-integer-value",
}  # fmt: skip
DEVICE = 8
#: Object types an EDE file often lists that hold no value to poll: named when counted as left out.
OTHER = {
    6: "calendar", 7: "command", 9: "event-enrollment", 10: "file", 11: "group", 15: "notification-class",
    16: "program", 17: "schedule", 18: "averaging", 20: "trend-log", 25: "event-log",
    27: "trend-log-multiple", 29: "structured-view",
}  # fmt: skip
#: Layout 2.x; a comma, where the file was saved in a language that writes decimals so (2,3).
_LAYOUT = re.compile(r"^\s*2([.,]\d+)*\s*$")


def sniff(head: str) -> bool:
    """Whether a CSV's first lines are an EDE file (its title line, PROJECT_NAME, or its header)."""
    for line in head.splitlines()[: HEADER_WITHIN + 2]:
        first = column_key(re.split(r"[;,\t]", line, maxsplit=1)[0].lstrip("#"))
        if (
            first in ("projectname", "versionoflayout", "keyname")
            or "engineering-data-exchange" in line.lower()
        ):
            return True
    return False


def read(path: Path, options: Options) -> Draft:
    """The draft of one device's objects in an EDE file."""
    sheet = read_csv(path, options.encoding)
    table = _locate(sheet)
    if table is None:
        raise PointTableError(
            [
                TableProblem(
                    str(path),
                    "has no EDE header row (# keyname;device obj.-instance;object-name;object-type;"
                    "object-instance;...) in its first rows",
                )
            ]
        )
    draft = Draft(table, NAME)
    missing = [COLUMNS[k][1][0] for k in MANDATORY if k not in table.columns]
    if missing:
        raise PointTableError(
            [
                table.problem(
                    table.sheet.rows[table.header - 1], None, f"the header has no {', '.join(missing)} column"
                )
            ]
        )
    _header(draft)
    rows = _device_rows(draft, options)
    texts = _state_texts(path, draft, options.encoding) if rows else None
    for row in rows:
        entry = _entry(draft, row, texts)
        if entry is not None:
            draft.entries.append(entry)
    return draft


def _locate(sheet: Sheet) -> Table | None:
    """The table below the row whose first cell is ``keyname`` (with or without a leading ``#``)."""
    header = next(
        (
            r
            for r in sheet.rows[: HEADER_WITHIN + 2]
            if r.cells and column_key(r.cells[0].lstrip("#")) == "keyname"
        ),
        None,
    )
    if header is None:
        return None
    titles = [c.lstrip("#").strip() for c in header.cells]
    by_name = {column_key(name): key for key, (_, names) in COLUMNS.items() for name in names}
    columns: dict[str, int] = {}
    for index, title in enumerate(titles):
        key = by_name.get(column_key(title))
        if key is not None:
            columns.setdefault(key, index)
    for key, (place, _) in COLUMNS.items():
        # The format is positional: a column the header leaves blank is the one at its place,
        # but a column titled otherwise is not (a tool's own layout puts its columns elsewhere).
        if key not in columns and (place >= len(titles) or not titles[place]):
            columns[key] = place
    shown = {k: titles[i] if i < len(titles) and titles[i] else COLUMNS[k][1][0] for k, i in columns.items()}
    above = [r for r in sheet.rows if r.number < header.number and not r.empty]
    # Rows starting with # below the header are comments, as above it.
    body = [
        r for r in sheet.rows if r.number > header.number and not r.empty and not r.cells[0].startswith("#")
    ]
    return Table(sheet, header.number, columns, shown, above, body)


def _header(draft: Draft) -> None:
    """The project's name for the profile's comment; a layout other than 2.x is refused."""
    values = {
        column_key(r.cells[0].lstrip("#")): (r, r.cells[1].strip() if len(r.cells) > 1 else "")
        for r in draft.table.above
    }
    project = values.get("projectname", (None, ""))[1]
    row, layout = values.get("versionoflayout", (None, ""))
    if layout and not _LAYOUT.match(layout):
        draft.problems.append(
            draft.table.problem(
                row, None, "the agent reads EDE layout 2.x (2.2, 2.3); save the file as one", layout
            )
        )
    about = f"EDE project {project!r}" if project else "EDE file"
    draft.notes.append(about + (f", layout {layout}" if layout else ""))


def _number(draft: Draft, row: Row, key: str, low: int, high: int) -> int | None:
    text = draft.table.cell(row, key)
    try:
        return cells.parse_int(text, draft.table.titles[key], low, high)
    except ValueError as exc:
        draft.problem(row, key, str(exc))
        return None


def _object_type(draft: Draft, row: Row) -> int | None:
    text = draft.table.cell(row, "object_type")
    if not text.isdigit():
        draft.problem(
            row,
            "object_type",
            "object-type is BACnet's number of the type: 0 analog-input, 3 binary-input, ...",
        )
        return None
    return int(text)


def _device_rows(draft: Draft, options: Options) -> list[Row]:
    """The rows of the one device to import, or none with the problem said."""
    by_device: dict[int, list[Row]] = {}
    names: dict[int, str] = {}
    for row in draft.table.body:
        device = _number(draft, row, "device", 0, MAX_INSTANCE)
        kind = _object_type(draft, row)
        if device is None or kind is None:
            continue
        if kind == DEVICE:
            names[device] = draft.table.cell(row, "object_name")
        by_device.setdefault(device, []).append(row)
    if not by_device:
        return []
    listed = ", ".join(f"{d}" + (f" {names[d]!r}" if names.get(d) else "") for d in sorted(by_device))
    if options.device is not None and options.device not in by_device:
        draft.problems.append(
            draft.table.problem(None, None, f"has no device {options.device}; its devices: {listed}")
        )
        return []
    if options.device is None and len(by_device) > 1:
        draft.problems.append(
            draft.table.problem(
                None,
                None,
                f"lists the objects of {len(by_device)} devices ({listed}); a profile is one device's: "
                "give --device INSTANCE",
            )
        )
        return []
    device = options.device if options.device is not None else next(iter(by_device))
    name = f" {names[device]!r}" if names.get(device) else ""
    draft.notes.append(
        f"objects of device {device}{name}: its [[devices.bacnet]] entry may say device_instance = {device}"
    )
    return by_device[device]


def _state_texts(path: Path, draft: Draft, encoding: str | None) -> dict[int, list[str]] | None:
    """The state texts file beside ``path`` by the EDE naming convention, by reference; None if absent."""
    if not path.stem.upper().endswith("_EDE"):
        return None
    companion = path.with_name(f"{path.stem[:-4]}_StateTexts{path.suffix}")
    if not companion.is_file():
        return None
    texts: dict[int, list[str]] = {}
    for row in read_csv(companion, encoding).rows:
        first = row.cells[0].strip() if row.cells else ""
        if not first or first.startswith("#"):
            continue
        if not first.isdigit():
            draft.problems.append(
                TableProblem(
                    str(companion),
                    "a state text reference is a number",
                    row=row.number,
                    column="Reference Number",
                    value=first,
                )
            )
            continue
        given = list(row.cells[1:])
        while given and not given[-1]:
            given.pop()
        texts[int(first)] = given
    draft.notes.append(f"state texts from {companion}")
    return texts


def _left_out(draft: Draft, kind: int) -> None:
    if kind == DEVICE:
        draft.left_out.append("device")
    elif kind >= 128:
        draft.left_out.append("proprietary")
    else:
        draft.left_out.append(OTHER.get(kind, f"object-type {kind}"))


def _entry(draft: Draft, row: Row, texts: dict[int, list[str]] | None) -> Entry | None:
    kind_number = _object_type(draft, row)
    if kind_number is None:
        return None
    kind = READ.get(kind_number)
    if kind is None:
        _left_out(draft, kind_number)
        return None
    instance = _number(draft, row, "instance", 0, MAX_INSTANCE)
    if instance is None:
        return None
    entry = Entry(row)
    entry.keys["object"] = f"{kind},{instance}"
    entry.columns.update(object="object_type", state_tag="state_texts")
    about = [draft.table.cell(row, k) for k in ("keyname", "object_name", "description")]
    if kind in ANALOG:
        unit = _unit(draft, entry)
        if unit is None:
            return None
        name, suffix = unit
        about.append(name)
        _field(draft, entry, (unit_for_suffix(suffix) or "") if suffix else "")
    elif kind in MULTI_STATE:
        about.append(_multi_state(draft, entry, texts))
    elif kind in TEXT:
        _field(draft, entry, "", key="tag")
    else:
        assert kind in BINARY
        _field(draft, entry, "")
    entry.label = ", ".join(part for part in about if part)
    return entry


def _unit(draft: Draft, entry: Entry) -> tuple[str, str] | None:
    """The unit's name and the suffix its values are written with; None with the problem said."""
    text = draft.table.cell(entry.row, "unit")
    if not text:
        draft.problem(
            entry.row,
            "unit",
            "a number needs its unit-code: its units decide the field's suffix "
            "(62 degrees-celsius, 98 percent, 95 no-units)",
        )
        return None
    if not text.isdigit():
        draft.problem(
            entry.row, "unit", "unit-code is the number of a BACnet engineering unit (62 degrees-celsius)"
        )
        return None
    name = name_of(int(text))
    suffix = suffix_of_units(name) if name is not None else None
    if name is None or suffix is None:
        draft.problem(
            entry.row,
            "unit",
            f"unit-code {text} is not a unit the agent has a field suffix for (campus_core/bacnet_units.py "
            "lists them); leave the row out, or write 95 (no-units) to read it under a name without unit",
        )
        return None
    return name, suffix


def _field(draft: Draft, entry: Entry, unit: str, key: str = "field") -> str | None:
    """Name the point from its object name through the glossary, else from its keyname."""
    object_name = draft.table.cell(entry.row, "object_name")
    keyname = draft.table.cell(entry.row, "keyname")
    if object_name and glossary().lookup(object_name) is not None:
        source, name = "object_name", object_name
    else:
        source, name = "keyname", keyname
        if glossary().lookup(keyname) is None and not is_snake_case(snake_case(keyname)):
            draft.problem(
                entry,
                "keyname",
                f"neither the object name {object_name!r} (not in the glossary) nor the keyname makes a "
                "field name: write a keyname of words starting with a letter (SupplyAirTemp, "
                "supply_air_temp) or an object name the glossary knows (温度, Temperature)",
            )
            return None
    entry.columns[key] = source
    try:
        named = name_point(name, "", unit, camel=source == "keyname")
    except NamingError as exc:
        draft.problem(entry, "unit" if exc.column == "unit" else key, str(exc))
        return None
    entry.keys[key] = named
    return named


def _multi_state(draft: Draft, entry: Entry, texts: dict[int, list[str]] | None) -> str:
    """The state's number as ``<name>_code``; its text as ``state_tag`` where the table gives state texts."""
    named = _field(draft, entry, "")
    reference = draft.table.cell(entry.row, "state_texts")
    if named is None:
        return ""
    stem = named.removesuffix("_code")
    entry.keys["field"] = f"{stem}_code"
    if not reference:
        return ""
    states = ""
    if texts is not None:
        if not reference.isdigit() or int(reference) not in texts:
            draft.problem(
                entry, "state_tag", f"state-text-reference {reference} is not in the state texts file"
            )
            return ""
        states = "states " + ", ".join(f"{n} {text}" for n, text in enumerate(texts[int(reference)], start=1))
    entry.keys["state_tag"] = stem
    return states
