"""The store's raw ingest time: one well-behaved writer posting a backlog through the same vmauth.

What the city's catch-up is measured against. The writer holds the same number of rows the
store took during the city's catch-up, shaped as the agents' meter points (12 fields, or as
many on average as the on-change backlog's points carried; the same tags, one series per
simulated meter and field), gzip level 1 in 5,000-point bodies as the
agents' buffers hold them, all compressed before the clock starts. It keeps exactly as
many requests in flight as the store works on at once (``-maxConcurrentInserts``), so it
is never queued and never refused: the fastest the store takes that backlog.
"""

from __future__ import annotations

import asyncio
import gzip
import time

import aiohttp

from campus_core.clock import now_ms

from .rig import RAW_WRITER

FIELDS = 12
BODY_POINTS = 5000


def bodies(points: int, series: int, end_ms: int, fields: float = FIELDS) -> list[bytes]:
    """``points`` meter points over ``series`` meters, one a second per meter up to ``end_ms``,
    carrying ``fields`` fields on average (a point that reports on change carries fewer)."""
    values = [f"value_{i:02d}={230.0 + i * 0.25}" for i in range(FIELDS)]
    out: list[bytes] = []
    lines: list[str] = []
    for n in range(points):
        device, step = n % series, n // series
        # Whole fields per point that add up to the average; taken in turn, so every field's
        # series is written, as a meter's changes reach each of its fields.
        count = max(1, min(FIELDS, round((n + 1) * fields) - round(n * fields)))
        first = n % FIELDS if count < FIELDS else 0
        chosen = ",".join(values[(first + i) % FIELDS] for i in range(count))
        lines.append(
            f"energy_meter,building={'AB'[device % 2]},campus=main,device=meter-{device},"
            f"kind=energy-meter-3ph,room=plant-{device},school={RAW_WRITER} {chosen} "
            f"{end_ms - step * 1000}"
        )
        if len(lines) == BODY_POINTS:
            out.append(gzip.compress("\n".join(lines).encode(), 1))
            lines = []
    if lines:
        out.append(gzip.compress("\n".join(lines).encode(), 1))
    return out


async def post_all(url: str, token: str, parts: list[bytes], concurrency: int) -> tuple[float, int]:
    """Post every body with ``concurrency`` in flight; (seconds, requests that were not 2xx)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for part in parts:
        queue.put_nowait(part)
    refused = 0
    headers = {"Authorization": f"Token {token}", "Content-Encoding": "gzip"}
    params = {"bucket": "city", "precision": "ms"}

    async def writer(session: aiohttp.ClientSession) -> None:
        nonlocal refused
        while not queue.empty():
            body = queue.get_nowait()
            while True:
                async with session.post(f"{url}/api/v2/write", params=params, data=body) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        break
                    refused += 1
                    await asyncio.sleep(0.05)

    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(writer(session))
        return time.monotonic() - started, refused


def raw_ingest_seconds(
    url: str,
    token: str,
    rows: float,
    series: int,
    concurrency: int,
    series_exist: bool = True,
    fields: float = FIELDS,
) -> tuple[float, int]:
    """Seconds the store takes ``rows`` rows from one writer, and how many of its requests were refused.

    ``series_exist``: the series are created beforehand, untimed, as the city's were by its
    warm-up (a city that starts cut off, with a prefilled backlog, creates them as it catches up).
    """
    points = max(1, round(rows / fields))
    end_ms = now_ms() - 1000
    if series_exist:
        asyncio.run(post_all(url, token, bodies(series, series, end_ms - 3_600_000), 1))
    return asyncio.run(post_all(url, token, bodies(points, series, end_ms, fields), concurrency))
