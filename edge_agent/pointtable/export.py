"""A profile back into the template, as CSV or XLSX, so that a table and a profile can be kept as one.

Importing what this writes gives the same profile: every register, node or BACnet object with
its field, tag, table, PDU address, type, order, scale, offset, length, bit and enum (object,
object name, property and state tag), and the profile's measurement, kind, tags and request
limits in rows above the header.

A BACnet profile is written as the template, not as an EDE file: an EDE file is the device's
own description (its instance, every object's name and units), which a profile does not hold
and an export would have to invent; the template holds exactly what the profile says.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from campus_core.suffixes import field_suffix, unit_for_suffix

from .build import TARGETS
from .template import CHINESE, LAYOUT, SETTINGS, SETTINGS_OF
from .xlsx import write_xlsx

#: Each table's name in a Chinese template.
TABLES_ZH = {"holding": "保持寄存器", "input": "输入寄存器", "coil": "线圈", "discrete": "离散输入"}
TITLE = {
    "en": "edge-agent point table, one row per point (edge-agent import points FILE --protocol {p})",
    "zh": "edge-agent 点表：每行一个点位（edge-agent import points 文件 --protocol {p}）",
}
_ENTRY = re.compile(r"^\[\[(?:registers|nodes|objects)\]\]\s*(?:#\s*(?:row \d+:\s*)?(.*))?$")


class ExportError(ValueError):
    """The profile cannot be written as a point table; the message says why."""


@dataclass(frozen=True)
class Template:
    """A point table ready to write: settings rows, the header and one row per point."""

    protocol: str
    above: list[list[str]]
    header: list[str]
    rows: list[list[str]]
    title: str


def _number(value: object) -> str:
    return repr(float(value)) if isinstance(value, float) and not float(value).is_integer() else str(value)


def _address(address: int) -> str:
    # Five digits would read as a Modicon address (40001 = holding 0): hex keeps them PDU.
    return str(address) if address < 10000 else f"0x{address:04X}"


def _cells(keys: dict[str, object], lang: str, description: str) -> dict[str, str]:
    cells = {"description": description}
    for key, value in keys.items():
        if key == "table" and lang == "zh":
            cells[key] = TABLES_ZH[str(value)]
        elif key == "address" and isinstance(value, int):
            cells[key] = _address(value)
        elif key == "enum" and isinstance(value, dict):
            cells[key] = "; ".join(f"{raw}={name}" for raw, name in value.items())
        else:
            cells[key] = _number(value)
    field = keys.get("field")
    suffix = field_suffix(field) if isinstance(field, str) else None
    cells["unit"] = (unit_for_suffix(suffix) or "") if suffix else ""
    return cells


def template_of(data: dict[str, object], text: str, lang: str = "en") -> Template:
    """The template rows of a parsed profile (``text`` is its source, for the entries' comments)."""
    protocol = next((t.protocol for t in TARGETS.values() if t.section in data), None)
    if protocol is None:
        raise ExportError(
            "has no [[registers]], [[nodes]] or [[objects]]: only Modbus, OPC UA and BACnet profiles "
            "are point tables"
        )
    target = TARGETS[protocol]
    unknown = sorted(k for k in data if k not in (target.section, *SETTINGS_OF[protocol]) and k != "kind")
    if unknown:
        raise ExportError(f"the template has no place for {', '.join(unknown)}")
    notes = [(m.group(1) or "").strip() for line in text.splitlines() if (m := _ENTRY.match(line.strip()))]
    entries = data[target.section]
    assert isinstance(entries, list)
    if len(notes) != len(entries):
        notes = [""] * len(entries)
    rows = []
    for raw, note in zip(entries, notes, strict=True):
        model = target.model.model_validate(raw)
        keys = target.keys(model)
        if protocol == "modbus" and "order" not in raw:
            keys.pop("order", None)
        if "name" in keys:
            # A BACnet object's name on the device; the template's name column is the point's.
            keys["object_name"] = keys.pop("name")
        cells = _cells(keys, lang, note)
        rows.append([cells.get(column, "") for column in LAYOUT[protocol]])
    return Template(
        protocol,
        _settings(data, protocol, lang),
        _header(protocol, lang),
        rows,
        TITLE[lang].format(p=protocol),
    )


def _header(protocol: str, lang: str) -> list[str]:
    return [CHINESE[c] if lang == "zh" else c for c in LAYOUT[protocol]]


def _settings(data: dict[str, object], protocol: str, lang: str) -> list[list[str]]:
    rows = []
    tags = dict(data.get("tags") or {})  # type: ignore[call-overload]
    values: dict[str, object] = {
        "measurement": data.get("measurement"),
        "kind": tags.pop("kind", None),
        "tags": "; ".join(f"{k}={v}" for k, v in tags.items()) or None,
    }
    for key in SETTINGS_OF[protocol]:
        value = values.get(key, data.get(key))
        if value is not None:
            name = SETTINGS[key][0] if lang == "zh" and SETTINGS[key] else key
            rows.append([name, str(value)])
    return rows


def example(protocol: str, lang: str) -> Template:
    """A blank template with settings and one example row, for ``--template``."""
    zh = lang == "zh"
    if protocol == "modbus":
        point = {
            "name": "温度" if zh else "Room temperature",
            "field": "" if zh else "temperature_c",
            "table": "输入寄存器" if zh else "input",
            "address": "30001" if zh else "0x0000",
            "type": "int16",
            "scale": "0.1",
            "unit": "℃" if zh else "°C",
            "description": "室内温度，寄存器值放大10倍"
            if zh
            else "air temperature, ten times the value in the register",
        }
    elif protocol == "opcua":
        point = {
            "name": "主轴转速" if zh else "Spindle speed",
            "field": "spindle_rpm",
            "node": "ns=2;s=Spindle.Speed",
            "unit": "rpm",
            "description": "示例节点" if zh else "an example node",
        }
    else:
        point = {
            "name": "送风温度" if zh else "Supply air temperature",
            "field": "supply_air_temp_c",
            "object": "analog-input,1",
            "unit": "℃" if zh else "°C",
            "description": "示例对象，单位以控制器为准" if zh else "an example, in the controller's units",
        }
    measurement = {"modbus": "classroom_env", "opcua": "training_machine", "bacnet": "hvac"}[protocol]
    settings = [["测量名称" if zh else "measurement", measurement]]
    row = [point.get(column, "") for column in LAYOUT[protocol]]
    return Template(protocol, settings, _header(protocol, lang), [row], TITLE[lang].format(p=protocol))


def load_profile(spec: str, bundled: Path) -> tuple[Path, dict[str, object], str]:
    """A profile by path, or by the name of a bundled one (``sdm630``): its path, data and text."""
    path = Path(spec)
    if not path.is_file() and (bundled / f"{spec}.toml").is_file():
        path = bundled / f"{spec}.toml"
    try:
        text = path.read_text(encoding="utf-8")
        return path, tomllib.loads(text), text
    except FileNotFoundError:
        known = ", ".join(sorted(p.stem for p in bundled.glob("*.toml")))
        raise ExportError(f"no profile {spec!r}: give a file, or one of the bundled {known}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ExportError(f"{path}: cannot be read as a profile: {exc}") from None


def csv_text(template: Template) -> str:
    """The template as CSV: the title, the settings, the header and the points."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([template.title])
    writer.writerows(template.above)
    writer.writerow(template.header)
    writer.writerows(template.rows)
    return out.getvalue()


def write(template: Template, path: Path, format: str) -> None:
    """Write the template to ``path`` as ``csv`` (UTF-8 with a BOM, which Excel needs) or ``xlsx``."""
    if format == "xlsx":
        write_xlsx(path, "points", template.title, template.above, template.header, _rows(template.rows))
    else:
        path.write_text(csv_text(template), encoding="utf-8-sig", newline="")


def _rows(rows: Sequence[Sequence[str]]) -> list[list[object]]:
    """Numbers as numbers in a workbook, so Excel does not flag them as text; addresses in hex stay text."""
    out: list[list[object]] = []
    for row in rows:
        cells: list[object] = []
        for cell in row:
            try:
                number = float(cell)
            except ValueError:
                cells.append(cell)
                continue
            cells.append(int(number) if number.is_integer() and "." not in cell else number)
        out.append(cells)
    return out
