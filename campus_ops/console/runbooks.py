"""The runbooks of docs/central.md, one section a page, for the alerts' runbook links.

The console runs where the metro network is closed, so it serves the runbooks itself. The
file is the project's docs/central.md (beside the package in a checkout, or ``--runbooks
FILE``); its ``## Runbooks`` section holds one ``### AlertName`` per alert, in plain
paragraphs with `code`.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

#: docs/central.md in a checkout of the project.
DEFAULT = Path(__file__).resolve().parents[2] / "docs" / "central.md"


def sections(text: str) -> dict[str, tuple[str, list[str]]]:
    """``{anchor: (title, paragraphs)}`` of the ``### `` sections under ``## Runbooks``."""
    found: dict[str, tuple[str, list[str]]] = {}
    inside = False
    title: str | None = None
    lines: list[str] = []

    def close() -> None:
        if title is not None:
            paragraphs = [" ".join(p.split()) for p in "\n".join(lines).split("\n\n") if p.strip()]
            found[anchor(title)] = (title, paragraphs)

    for line in text.splitlines():
        if line.startswith("## "):
            close()
            title, lines = None, []
            inside = line[3:].strip().lower() == "runbooks"
        elif inside and line.startswith("### "):
            close()
            title, lines = line[4:].strip(), []
        elif title is not None:
            lines.append(line)
    close()
    return found


def anchor(title: str) -> str:
    """A heading's anchor as Markdown renderers make it: ``DeviceDown`` -> ``devicedown``."""
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def to_html(paragraph: str) -> str:
    """One paragraph as HTML: escaped, with `code` spans kept."""
    parts = paragraph.split("`")
    return "".join(
        f"<code>{html.escape(part)}</code>" if index % 2 else html.escape(part)
        for index, part in enumerate(parts)
    )


def load(path: Path | None) -> dict[str, tuple[str, list[str]]]:
    """The runbooks in ``path`` (or the checkout's docs/central.md); none when it is not there."""
    source = path or DEFAULT
    try:
        return sections(source.read_text(encoding="utf-8"))
    except OSError:
        return {}
