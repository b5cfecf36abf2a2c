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
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from campus_core.identity import SeriesTags

log = structlog.get_logger("edge_agent.assets")

STATE_FILE = "assets.json"
VERSION = 1
#: The register's own tags at the head of ``stated``; the rest are identity values.
RECORD_TAGS = frozenset({"protocol", "address", "source"})


@dataclass(slots=True)
class Asset:
    """One asset as the register knows it.

    ``tags`` tell the sensors behind one pushed device apart (empty for a polled device);
    ``stated`` are the identity tags its ``asset_info`` series carries now (one tuple, kept
    as long as it holds the same, so the encoder's cache of its series shares it); ``kept``
    the values read before that the last probe did not state, which a new reading is still
    compared with (so a garbled answer is no change). A campus has a thousand of these:
    they hold nothing twice.
    """

    device: str
    tags: SeriesTags
    protocol: str
    address: str
    stated: SeriesTags
    kept: dict[str, str] | None
    first_seen_ms: int
    last_seen_ms: int

    def known(self, key: str) -> str | None:
        """The last value read of ``key``: stated at the last probe, or kept from before."""
        for name, value in self.stated:
            if name == key:
                return value
        return self.kept.get(key) if self.kept else None

    def known_all(self) -> dict[str, str]:
        """Every identity value last read (``stated`` less protocol, address and source)."""
        found = dict(self.kept or {})
        found.update(pair for pair in self.stated if pair[0] not in RECORD_TAGS)
        return found

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
    assets = []
    for r in data.assets:
        stated = tuple((sys.intern(k), sys.intern(v)) for k, v in r.stated)
        now = dict(stated)
        kept = {k: v for k, v in r.known.items() if k not in now}
        tags = tuple(r.tags)
        seen = (r.first_seen_ms, r.last_seen_ms)
        assets.append(Asset(r.device, tags, r.protocol, r.address, stated, kept or None, *seen))
    return assets


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
            "known": a.known_all(),
            "first_seen_ms": a.first_seen_ms,
            "last_seen_ms": a.last_seen_ms,
        }
        for a in assets
    ]


def save(path: Path, records: list[dict[str, object]]) -> None:
    """Write ``records`` to ``path`` atomically: a temporary file, flushed, then renamed over it."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        # Streamed: a campus's register never sits in memory as one string.
        json.dump({"version": VERSION, "assets": records}, out, ensure_ascii=False, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
