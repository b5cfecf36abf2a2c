"""What the benchmarks share: process CPU and memory from /proc, and the simulators."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from edge_agent import __version__
from tests.support.ports import free_port_range

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def scrape(url: str) -> dict[str, dict[tuple[str, ...], float]]:
    """name -> {label values: value} of a Prometheus text page (the agent's /metrics)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    out: dict[str, dict[tuple[str, ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sample.labels.values())] = sample.value
    return out


def publish(name: str, title: str, figures: dict[str, float], width: int = 44) -> None:
    """Print ``figures`` under ``title`` with the box they were measured on, and write both to
    bench/results/NAME.json."""
    context = {"cores": os.cpu_count(), "python": platform.python_version(), "agent": __version__}
    print(f"{title} ({context})")
    for key, value in figures.items():
        print(f"  {key:<{width}} {value:>14,.3f}")
    out = Path(__file__).parent / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"context": context, "figures": figures}, indent=2) + "\n")


def rss_mb(pid: int) -> float:
    """The process's resident set now (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def growth_per_hour(samples: list[tuple[float, float]]) -> float:
    """The least-squares slope of ``(seconds, MB)`` samples, in MB per hour (0 for fewer than 2)."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    return 3600 * sum((t - mean_t) * (m - mean_m) for t, m in samples) / spread


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def campus_process(work: Path, args: list[str]) -> Iterator[subprocess.Popen[str]]:
    """``python -m simulators campus ARGS`` serving (it said ``ready``); SIGTERM on the way out."""
    log = (work / "simulators.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators", "campus", *args], stdout=subprocess.PIPE, stderr=log, text=True
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == "ready":
                break
        else:
            raise RuntimeError(f"simulators did not start; see {work / 'simulators.log'}")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        log.close()


def only(*devices: str) -> list[str]:
    """Campus arguments for just ``devices`` (e.g. ``--opcua-cnc 20 ...``): the one classroom the
    simulator always serves sits on a free port of its own and is not polled."""
    return [
        "--classrooms",
        "1",
        "--meters",
        "0",
        "--machines",
        "0",
        "--base-port",
        str(free_port_range(1)),
        *devices,
    ]


@contextlib.contextmanager
def simulators(work: Path, args: list[str]) -> Iterator[str]:
    """``python -m simulators campus ARGS`` running; yields the agent's device entries."""
    entries = subprocess.run(
        [sys.executable, "-m", "simulators", "campus", *args, "--print-config"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    with campus_process(work, args):
        yield entries


def write_profile_40(config_dir: Path) -> None:
    """``profiles/bench-40.toml`` beside a config: 20 float32 values in 40 input registers,
    the device shape of the campus benchmark, read from a simulated meter in one request."""
    registers = "\n".join(
        f'[[registers]]\nfield = "value_{i:02d}"\ntable = "input"\naddress = {2 * i}\ntype = "float32"\n'
        for i in range(20)
    )
    (config_dir / "profiles").mkdir(parents=True, exist_ok=True)
    (config_dir / "profiles" / "bench-40.toml").write_text(f'measurement = "bench_meter"\n\n{registers}')


def write_profile_bacnet_30(config_dir: Path) -> None:
    """``profiles/bench-bacnet-30.toml``: every one of a simulated AHU's thirty objects as a field."""
    from simulators.bacnet import POINTS

    objects = "\n".join(
        f'[[objects]]\nobject = "{p.object_type},{p.instance}"\nfield = "{p.key}"\n'
        for p in POINTS["bacnet-ahu"]
    )
    (config_dir / "profiles").mkdir(parents=True, exist_ok=True)
    (config_dir / "profiles" / "bench-bacnet-30.toml").write_text(f'measurement = "hvac"\n\n{objects}')
