"""Reading a device: scalars by GET in few PDUs, tables by walking all their columns at once.

A walk asks for every column of every table side by side: one GETBULK brings
``max_repetitions`` rows of each column (one GETNEXT one row, for SNMPv1), so a 48-port
switch costs a couple of round trips, not one per cell. A column is done when the agent
answers with an OID outside it, ``endOfMibView``, or (SNMPv1) ``noSuchName``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .convert import Raw
from .mibs import Oid, mibs
from .session import Response, Session, SnmpError

Sample = tuple[Raw, float]
"""A value and the monotonic time its answer arrived."""


@dataclass
class Anomalies:
    """What the device answered that could not be used, for the log and the counters."""

    unreadable: dict[Oid, str] = field(default_factory=dict)
    not_increasing: list[Oid] = field(default_factory=list)
    truncated: list[Oid] = field(default_factory=list)


async def get_values(
    session: Session, oids: Sequence[Oid], max_varbinds: int, anomalies: Anomalies
) -> dict[Oid, Sample]:
    """GET ``oids`` in requests of at most ``max_varbinds``; an unreadable OID is left out."""
    values: dict[Oid, Sample] = {}
    pending = [list(oids[i : i + max_varbinds]) for i in range(0, len(oids), max_varbinds)]
    while pending:
        chunk = pending.pop()
        if not chunk:
            continue
        response = await session.get(chunk)
        if response.status is None:
            now = time.monotonic()
            for oid, raw in response.varbinds:
                values[oid] = (raw, now)
            continue
        if response.status == "tooBig" and len(chunk) > 1:
            half = len(chunk) // 2
            pending += [chunk[:half], chunk[half:]]
            continue
        if not 1 <= response.index <= len(chunk):
            raise SnmpError(
                f"{session.address} answered a GET with {response.status} and no usable error index"
            )
        # SNMPv1 fails the whole request for one missing OID (noSuchName); so do some v2c
        # agents (genErr). Leave that OID out and ask for the others again.
        bad = chunk.pop(response.index - 1)
        anomalies.unreadable[bad] = response.status
        pending.append(chunk)
    return values


async def walk(
    session: Session,
    columns: Sequence[Oid],
    *,
    bulk: bool,
    max_repetitions: int,
    max_varbinds: int,
    max_rows: int,
    anomalies: Anomalies,
) -> dict[Oid, dict[Oid, Sample]]:
    """Every row of every column: ``{column: {row index: (value, arrival)}}``."""
    rows: dict[Oid, dict[Oid, Sample]] = {column: {} for column in columns}
    cursor = {column: column for column in columns}
    active = list(dict.fromkeys(columns))
    repetitions, width = max_repetitions, max_varbinds
    while active:
        batch = active[:width]
        asked = [cursor[c] for c in batch]
        response = await (session.bulk(asked, repetitions) if bulk else session.next(asked))
        if response.status is not None:
            if response.status == "tooBig" and (repetitions > 1 or width > 1):
                repetitions, width = (
                    (max(1, repetitions // 2), width)
                    if bulk and repetitions > 1
                    else (repetitions, max(1, len(batch) // 2))
                )
                continue
            if response.status == "noSuchName" and 1 <= response.index <= len(batch):
                # SNMPv1's end of the MIB: the column asked at that position has no next object.
                active.remove(batch[response.index - 1])
                continue
            raise SnmpError(_status_reason(session, response, batch))
        if not response.varbinds:
            raise SnmpError(f"{session.address} answered a walk with no values at all")
        done = _take(response, batch, cursor, rows, max_rows, anomalies)
        active = [c for c in active if c not in done]
    return rows


def _take(
    response: Response,
    batch: list[Oid],
    cursor: dict[Oid, Oid],
    rows: dict[Oid, dict[Oid, Sample]],
    max_rows: int,
    anomalies: Anomalies,
) -> set[Oid]:
    """File the values of one answer under their columns; return the columns that are done."""
    now = time.monotonic()
    done: set[Oid] = set()
    width = len(batch)
    for position, (oid, raw) in enumerate(response.varbinds):
        # GETBULK answers row by row: the i-th value belongs to the (i mod width)-th column asked.
        column = batch[position % width]
        if column in done:
            continue
        size = len(column)
        if raw.type == "endofmibview" or len(oid) <= size or oid[:size] != column:
            done.add(column)
            continue
        if oid <= cursor[column]:
            anomalies.not_increasing.append(column)
            done.add(column)
            continue
        cursor[column] = oid
        column_rows = rows[column]
        column_rows[oid[size:]] = (raw, now)
        if len(column_rows) >= max_rows:
            anomalies.truncated.append(column)
            done.add(column)
    return done


def _status_reason(session: Session, response: Response, batch: list[Oid]) -> str:
    where = ""
    if 1 <= response.index <= len(batch):
        where = f" at {mibs().name_of(batch[response.index - 1])}"
    return f"{session.address} answered a walk with {response.status}{where}"
