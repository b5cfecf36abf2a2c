"""The register's memory on disk: ``state_dir/assets.json``, so a restart is not a change.

The file holds every asset the agent has seen, with the values last read from it. It is
written whole to a temporary file, flushed to disk and renamed over the old one, so a
crash or a cancelled save leaves the old file or the new one, never half of either. A file
that cannot be read is moved aside and the register starts empty (every device is then
first seen again, which is never reported as a change).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from campus_core.identity import SeriesTags

log = structlog.get_logger("edge_agent.assets")

STATE_FILE = "assets.json"
VERSION = 1


@dataclass(slots=True)
class Asset:
    """One asset as the register knows it.

    ``tags`` tell the sensors behind one pushed device apart (empty for a polled device);
    ``stated`` are the identity tags its ``asset_info`` series carries now; ``known`` holds
    every identity value ever read from it, the last of each, which a new reading is
    compared with (a value not stated this time is kept, so a garbled answer is no change).
    """

    device: str
    tags: SeriesTags
    protocol: str
    address: str
    stated: SeriesTags
    known: dict[str, str]
    first_seen_ms: int
    last_seen_ms: int

    @property
    def key(self) -> tuple[str, SeriesTags]:
        """What tells this asset from every other on the gateway."""
        return (self.device, self.tags)


class _Record(BaseModel):
    """One asset as the file holds it (the file is read as untrusted input)."""

    model_config = ConfigDict(extra="ignore")

    device: str
    tags: list[tuple[str, str]] = []
    protocol: str = ""
    address: str = ""
    stated: list[tuple[str, str]] = []
    known: dict[str, str] = {}
    first_seen_ms: int
    last_seen_ms: int


class _File(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int
    assets: list[_Record]


def load(path: Path) -> list[Asset]:
    """The assets in ``path``; none when it does not exist; a damaged file is moved aside."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.error(
            "cannot read the asset register's file; starting with an empty register",
            file=str(path),
            error=exc.strerror or str(exc),
        )
        return []
    try:
        data = _File.model_validate_json(text)
        if data.version != VERSION:
            raise ValueError(f"version {data.version}, this agent writes {VERSION}")
    except (ValidationError, ValueError) as exc:
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
        path.rename(aside)
        log.error(
            "the asset register's file is damaged; moved aside, starting with an empty register "
            "(every device is first seen again; nothing is reported as a change)",
            file=str(path),
            moved_to=str(aside),
            error=str(exc)[:300],
        )
        return []
    return [
        Asset(
            r.device,
            tuple(r.tags),
            r.protocol,
            r.address,
            tuple(r.stated),
            dict(r.known),
            r.first_seen_ms,
            r.last_seen_ms,
        )
        for r in data.assets
    ]


def snapshot(assets: list[Asset]) -> list[dict[str, object]]:
    """Copies of ``assets`` as the file holds them: taken on the event loop, so that nothing
    changes under :func:`save` while it writes them from a worker thread."""
    return [
        {
            "device": a.device,
            "tags": [list(t) for t in a.tags],
            "protocol": a.protocol,
            "address": a.address,
            "stated": [list(t) for t in a.stated],
            "known": dict(a.known),
            "first_seen_ms": a.first_seen_ms,
            "last_seen_ms": a.last_seen_ms,
        }
        for a in assets
    ]


def save(path: Path, records: list[dict[str, object]]) -> None:
    """Write ``records`` to ``path`` atomically: a temporary file, flushed, then renamed over it."""
    text = json.dumps({"version": VERSION, "assets": records}, ensure_ascii=False, separators=(",", ":"))
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
