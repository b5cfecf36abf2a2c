"""SNMP driver (v1, v2c, v3): scalars by GET, tables by GETBULK/GETNEXT, counters into rates.

One poll: GET every scalar (and sysUpTime when rates are read) in few PDUs, walk every
table column side by side, then turn scalars into one point per measurement and every
table row into one point with its index as a tag. The device is read-only to us.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import structlog

from campus_core.clock import now_ms
from campus_core.identity import Identity
from campus_core.readings import DeviceError, FieldValue, Reading

from .config import SnmpDevice
from .convert import index_text
from .identity import read_identity
from .mibs import Oid, mibs
from .plan import ColumnSpec, Plan, TableSpec, Value, compile_plan
from .rates import CounterRates, UptimeWatch
from .reads import Anomalies, Sample, get_values, walk
from .session import EnginePool, Session, SnmpError

log = structlog.get_logger("drivers.snmp")


@dataclass
class SnmpStats:
    """What happened on the wire and what could not be used, for tests, benchmarks and logs."""

    polls: int = 0
    restarts: int = 0
    unreadable: int = 0
    not_increasing: int = 0
    truncated: int = 0
    logged: set[Oid] = field(default_factory=set)


class SnmpDriver:
    """Polls one SNMP agent through the process's shared engine."""

    def __init__(self, config: SnmpDevice, pool: EnginePool | None = None) -> None:
        self._config = config
        self._plan: Plan = compile_plan(config)
        self._session = Session(config, pool) if pool is not None else Session(config)
        self._rates = CounterRates()
        self._uptime = UptimeWatch()
        # Which OID each column with a fallback is read from, once the device has told us.
        self._choice: dict[tuple[int, int], int] = {
            column.key: 0
            for table in self._plan.tables
            for column in table.columns
            if len(column.choices) == 1
        }
        self.stats = SnmpStats()

    @property
    def name(self) -> str:
        """The device name from the config."""
        return self._config.name

    @property
    def plan(self) -> Plan:
        """What each poll reads."""
        return self._plan

    @property
    def requests(self) -> dict[str, int]:
        """Requests sent so far, by PDU type (get, getnext, getbulk)."""
        return dict(self._session.requests)

    @property
    def connects(self) -> int:
        """SNMP runs over UDP: no connection to count (the agent probes after a silence)."""
        return 0

    async def identify(self) -> Identity:
        """What the device states about itself (system group, ENTITY-MIB chassis)."""
        try:
            await self._session.open()
            return await read_identity(self._session, self._config)
        except SnmpError as exc:
            raise DeviceError(self._config.name, exc.reason) from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._session.close()

    async def poll(self) -> list[Reading]:
        """Read the device once; raise DeviceError naming what to check if it cannot be read."""
        config = self._config
        anomalies = Anomalies()
        self._rates.begin()
        try:
            await self._session.open()
            values = (
                await get_values(self._session, self._plan.get_oids, config.max_varbinds, anomalies)
                if self._plan.get_oids
                else {}
            )
            anomalies.unreadable.update(
                {oid: sample[0].type for oid, sample in values.items() if sample[0].missing}
            )
            self._check_restart(values)
            rows = await self._walk(anomalies) if self._plan.tables else {}
        except SnmpError as exc:
            raise DeviceError(config.name, exc.reason) from None
        self.stats.polls += 1
        now = now_ms()
        readings = self._scalar_readings(values, now)
        for table in self._plan.tables:
            readings += self._table_readings(table, rows, now)
        self._rates.end()
        self._note(anomalies)
        return readings

    def _check_restart(self, values: dict[Oid, Sample]) -> None:
        uptime = self._plan.uptime
        sample = values.get(uptime) if uptime else None
        ticks = sample[0].number if sample is not None and sample[0].type == "timeticks" else None
        if sample is None or ticks is None:
            return
        if self._uptime.restarted(ticks, sample[1]):
            self.stats.restarts += 1
            self._rates.clear()
            log.info(
                "device restarted (sysUpTime); its rates start again next poll",
                device=self._config.name,
                uptime_s=ticks / 100,
            )

    async def _walk(self, anomalies: Anomalies) -> dict[Oid, dict[Oid, Sample]]:
        config = self._config
        columns = [oid for table in self._plan.tables for oid in self._table_oids(table)]

        def walk_of(oids: list[Oid]) -> Awaitable[dict[Oid, dict[Oid, Sample]]]:
            return walk(
                self._session,
                oids,
                bulk=config.version != "1",
                max_repetitions=config.max_repetitions,
                max_varbinds=config.max_varbinds,
                max_rows=config.max_rows,
                anomalies=anomalies,
            )

        rows = await walk_of(columns)
        undecided = [c for t in self._plan.tables for c in t.columns if c.key not in self._choice]
        fallbacks = []
        for column in undecided:
            if rows.get(column.choices[0][0]):
                self._choice[column.key] = 0
            else:
                fallbacks.append(column)
        if fallbacks:
            # First poll only: the device lacks a primary column (no ifXTable, or SNMPv1 and a
            # Counter64); read the fallback from now on if it has one.
            more = await walk_of([c.choices[1][0] for c in fallbacks])
            rows.update(more)
            for column in fallbacks:
                if more.get(column.choices[1][0]):
                    self._choice[column.key] = 1
                    log.info(
                        "column read from its fallback",
                        device=config.name,
                        column=mibs().name_of(column.choices[0][0]),
                        fallback=mibs().name_of(column.choices[1][0]),
                    )
        return rows

    def _table_oids(self, table: TableSpec) -> list[Oid]:
        oids: list[Oid] = []
        for column in table.columns:
            oids.append(column.choices[self._choice.get(column.key, 0)][0])
            oids += [oid for oid in (column.multiply, column.divide) if oid is not None]
        if table.discontinuity is not None:
            oids.append(table.discontinuity)
        return oids

    def _scalar_readings(self, values: dict[Oid, Sample], now_ms: int) -> list[Reading]:
        groups: dict[str, tuple[list[tuple[str, FieldValue]], list[tuple[str, str]]]] = {}
        for scalar in self._plan.scalars:
            fields, tags = groups.setdefault(scalar.measurement, ([], []))
            sample = values.get(scalar.oid)
            if sample is not None and not sample[0].missing:
                self._convert(scalar.value, sample, ("scalar", scalar.measurement), 1.0, fields, tags)
        device = self._config.name
        return [
            Reading.of(device, now_ms, tuple(fields), tuple(tags), measurement)
            for measurement, (fields, tags) in groups.items()
            if fields
        ]

    def _table_readings(
        self, table: TableSpec, rows: dict[Oid, dict[Oid, Sample]], now_ms: int
    ) -> list[Reading]:
        chosen = [(column, *column.choices[self._choice.get(column.key, 0)]) for column in table.columns]
        indexes: dict[Oid, None] = {}
        for _, oid, _ in chosen:
            indexes.update(dict.fromkeys(rows.get(oid, {})))
        marks = rows.get(table.discontinuity, {}) if table.discontinuity else {}
        readings = []
        for index in indexes:
            row_key = (table.number, index)
            mark = marks.get(index)
            if mark is not None and mark[0].number is not None:
                self._rates.discontinuity(row_key, mark[0].number)
            fields: list[tuple[str, FieldValue]] = []
            tags: list[tuple[str, str]] = [(table.index_tag, index_text(index))]
            for column, oid, value in chosen:
                sample = rows.get(oid, {}).get(index)
                if sample is None or sample[0].missing:
                    continue
                factor = _factor(column, rows, index)
                if factor is not None:
                    self._convert(value, sample, row_key, factor, fields, tags)
            if fields:
                readings.append(
                    Reading.of(self._config.name, now_ms, tuple(fields), tuple(tags), table.measurement)
                )
        return readings

    def _convert(
        self,
        value: Value,
        sample: Sample,
        row_key: object,
        factor: float,
        fields: list[tuple[str, FieldValue]],
        tags: list[tuple[str, str]],
    ) -> None:
        raw, at = sample
        if value.to_tag is not None:
            text = value.to_tag(raw)
            if text:
                tags.append((value.name, text))
            return
        if value.rate:
            if raw.number is None:
                return
            rate = self._rates.rate(row_key, value.name, raw.number, at, wraps=raw.type == "counter32")
            if rate is not None:
                fields.append((value.name, rate * value.scale * factor))
            return
        number = value.to_field(raw)
        if number is not None:
            # 12 significant digits: 100.0 %, not the 100.00000000000001 a division leaves.
            fields.append((value.name, number if factor == 1.0 else float(f"{number * factor:.12g}")))

    def _note(self, anomalies: Anomalies) -> None:
        """Count what could not be used; log each unreadable OID once, not every poll."""
        stats = self.stats
        stats.unreadable += len(anomalies.unreadable)
        stats.not_increasing += len(anomalies.not_increasing)
        stats.truncated += len(anomalies.truncated)
        for oid, status in anomalies.unreadable.items():
            if oid not in stats.logged:
                stats.logged.add(oid)
                log.warning(
                    "OID not readable on this device; left out",
                    device=self._config.name,
                    oid=mibs().name_of(oid),
                    status=status,
                )
        for oid in anomalies.not_increasing:
            if oid not in stats.logged:
                stats.logged.add(oid)
                log.warning(
                    "agent returned OIDs out of order; column cut short",
                    device=self._config.name,
                    column=mibs().name_of(oid),
                )
        for oid in anomalies.truncated:
            if oid not in stats.logged:
                stats.logged.add(oid)
                log.warning(
                    "table cut at the row limit (max_rows)",
                    device=self._config.name,
                    column=mibs().name_of(oid),
                    rows=self._config.max_rows,
                )


def _factor(column: ColumnSpec, rows: dict[Oid, dict[Oid, Sample]], index: Oid) -> float | None:
    """The row's multiply_by / divide_by factor; None when a helper value is missing or zero."""
    factor = 1.0
    for oid, divide in ((column.multiply, False), (column.divide, True)):
        if oid is None:
            continue
        sample = rows.get(oid, {}).get(index)
        number = sample[0].number if sample else None
        if not number:
            return None
        factor = factor / number if divide else factor * number
    return factor
