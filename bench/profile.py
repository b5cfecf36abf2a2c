"""Where the campus footprint goes: a CPU profile (py-spy) or a memory profile (tracemalloc).

``python -m bench.profile cpu`` runs the campus of :mod:`bench.footprint` and samples the
agent process with py-spy; ``python -m bench.profile memory`` runs the agent in this
process under tracemalloc and lists what holds its memory once every device answers.
Both print a summary and keep the raw data in bench/results/ so a later change can be
compared with it. Figures from a profiled run are not the footprint figures: py-spy and
tracemalloc cost time and memory of their own.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from tests.support.processes import AgentProcess

from .footprint import campus, wait_until_answering
from .measure import peak_rss_mb

RESULTS = Path(__file__).parent / "results"


def cpu(seconds: float, sizes: tuple[int, int, int]) -> Path:
    """py-spy samples of the agent for ``seconds``, as collapsed stacks; prints the top frames."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    out = RESULTS / "profile-cpu.txt"
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, campus(Path(tmp), *sizes) as site:
        agent = AgentProcess(site.config)
        agent.start()
        assert agent.process is not None
        try:
            wait_until_answering(site.listen, site.devices)
            # The footprint benchmark scrapes /metrics every 10 s; so does this run.
            scraper = _Scraper(site.listen)
            scraper.start()
            subprocess.run(
                [
                    spy,
                    "record",
                    "--pid",
                    str(agent.process.pid),
                    "--duration",
                    str(int(seconds)),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "-o",
                    str(out),
                ],
                check=True,
                capture_output=True,
                timeout=seconds + 60,
            )
            scraper.stop()
        finally:
            agent.stop(timeout=60)
    summarise_cpu(out)
    return out


def summarise_cpu(path: Path, top: int = 40) -> None:
    """Share of samples per function: inclusive (in the stack) and self (on top)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    print(f"{total} samples (the agent's busy time; idle waits are not sampled)")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"-- {title}")
        for frame, n in counter.most_common(top):
            print(f"  {100 * n / total:5.1f}%  {frame}")


def _frame(text: str) -> str:
    # py-spy writes "function (path/to/module.py:line)"; the line number splits one function.
    name, _, where = text.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0].rsplit('/', 2)[-1]})" if where else name


def memory(settle: float, sizes: tuple[int, int, int], growth: float = 0, top: int = 30) -> Path:
    """What holds the agent's memory once every device answers, by file and by line; with
    ``growth`` seconds, also what was allocated over that time and is still held."""
    from edge_agent.agent import Agent
    from edge_agent.config import load

    out = RESULTS / "profile-memory.txt"
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, campus(Path(tmp), *sizes) as site:
        os.chdir(site.config.parent)
        tracemalloc.start(1)
        agent = Agent(load(site.config), site.config)

        async def run() -> tracemalloc.Snapshot:
            task = asyncio.create_task(agent.run())
            answering = await asyncio.to_thread(wait_until_answering, site.listen, site.devices)
            await asyncio.sleep(settle)
            print(
                f"{answering} devices answering; peak RSS {peak_rss_mb(os.getpid()):.0f} MB "
                "(with tracemalloc's own cost)"
            )
            snapshot = tracemalloc.take_snapshot()
            if growth:
                # What is still allocated after more minutes and was not before: a leak shows here.
                await asyncio.sleep(growth)
                later = tracemalloc.take_snapshot()
                grown = later.compare_to(snapshot, "lineno")
                print(f"-- grown in {growth:g} s: {sum(d.size_diff for d in grown) / 2**20:+.2f} MB")
                for diff in grown[:top]:
                    print(
                        f"  {diff.size_diff / 2**20:+7.3f} MB {diff.count_diff:>+9,} blocks  "
                        f"{diff.traceback[0]}"
                    )
                snapshot = later
            before = tracemalloc.get_traced_memory()[0]
            unreachable = gc.collect()
            print(
                f"cyclic garbage: {unreachable:,} objects, "
                f"{(before - tracemalloc.get_traced_memory()[0]) / 2**20:.1f} MB"
            )
            agent.stop()
            await task
            return snapshot

        snapshot = asyncio.run(run())
        tracemalloc.stop()
    lines = []
    for key in ("filename", "lineno"):
        stats = snapshot.statistics(key)
        total = sum(s.size for s in stats)
        lines.append(f"-- by {key}: {total / 2**20:.1f} MB traced")
        lines += [f"  {s.size / 2**20:7.2f} MB {s.count:>9,} blocks  {s.traceback[0]}" for s in stats[:top]]
    text = "\n".join(lines)
    print(text)
    out.write_text(text + "\n")
    return out


class _Scraper(threading.Thread):
    """Scrapes /metrics every 10 s, as the footprint benchmark does."""

    def __init__(self, listen: str) -> None:
        super().__init__(daemon=True)
        self._listen = listen
        self._halt = threading.Event()

    def run(self) -> None:
        from .footprint import scrape

        while not self._halt.wait(10):
            scrape(self._listen)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["cpu", "memory"])
    parser.add_argument("--seconds", type=float, default=60, help="cpu: how long to sample")
    parser.add_argument(
        "--growth",
        type=float,
        default=0,
        help="memory: also watch this many seconds more for memory that stays",
    )
    parser.add_argument("--modbus", type=int, default=1000)
    parser.add_argument("--switches", type=int, default=100)
    parser.add_argument("--sensors", type=int, default=200)
    args = parser.parse_args(argv)
    sizes = (args.modbus, args.switches, args.sensors)
    started = time.monotonic()
    out = cpu(args.seconds, sizes) if args.what == "cpu" else memory(30, sizes, args.growth)
    print(f"written: {out} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
