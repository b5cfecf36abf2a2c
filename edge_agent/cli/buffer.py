"""``edge-agent buffer``: the on-disk buffer seen from outside: depth, newest points, dead letters."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from campus_core.clock import now_ms
from campus_core.units import format_duration, format_size

from ..buffer import DiskBuffer
from ..statedir import buffer_path
from .common import add_config_argument, load_config

HELP = "inspect the on-disk buffer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """stats | tail | dead, CONFIG, and the options of each."""
    parser.add_argument(
        "action",
        choices=["stats", "tail", "dead"],
        help="stats: depth per sink; tail: newest points; dead: batches a store refused",
    )
    add_config_argument(parser)
    parser.add_argument("-n", "--lines", type=int, default=20, help="points to show with tail (default 20)")
    parser.add_argument(
        "--replay",
        metavar="ID",
        type=int,
        nargs="+",
        help="with dead: queue these dead-lettered batches again",
    )
    parser.add_argument("--replay-all", action="store_true", help="with dead: queue every one again")


def run(args: argparse.Namespace) -> int:
    """What was asked, read from the buffer file (read-only unless replaying)."""
    loaded = load_config(args.config)
    if loaded is None:
        return 1
    path = buffer_path(loaded.config)
    if args.action == "dead":
        return dead_letters(path, loaded.config.buffer.max_disk, args)
    try:
        disk = DiskBuffer(path, [], loaded.config.buffer.max_disk, readonly=True)
    except FileNotFoundError:
        print(
            f"edge-agent: no buffer at {path} yet (the agent creates it when it first runs)", file=sys.stderr
        )
        return 1
    try:
        if args.action == "tail":
            for line in disk.tail(args.lines):
                print(line)
            return 0
        stats = disk.stats()
        print(
            f"buffer {path}: {stats.points} points in {stats.batches} batches, "
            f"{format_size(stats.bytes)} of {format_size(loaded.config.buffer.max_disk)}"
        )
        now = now_ms()
        for backlog in stats.backlog:
            age = (
                f", oldest {format_duration(max(0.001, (now - backlog.oldest_ms) / 1000))} old"
                if backlog.oldest_ms
                else ""
            )
            print(f"  sink {backlog.sink}: {backlog.points} points to send in {backlog.batches} batches{age}")
        for name, value in sorted(stats.counters.items()):
            print(f"  {name}: {value}")
        return 0
    finally:
        disk.close()


def dead_letters(path: Path, max_disk: int, args: argparse.Namespace) -> int:
    """List the batches a store refused, or queue them again with ``--replay``."""
    if not path.exists():
        print(f"edge-agent: no buffer at {path} yet", file=sys.stderr)
        return 1
    replay = args.replay_all or bool(args.replay)
    disk = DiskBuffer(path, [], max_disk, readonly=not replay, owner=False)
    try:
        if replay:
            points = disk.replay_dead(None if args.replay_all else args.replay)
            print(f"queued {points} points again; every sink sends them at its next turn")
            return 0
        letters = disk.dead_letters()
        if not letters:
            print("no dead letters: no store has refused a batch")
        for d in letters:
            made = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.created_ms / 1000))
            print(
                f"{d.id:>5}  sink {d.sink}  {d.points} points from {made}  answered {d.status}: {d.message}"
            )
        if letters:
            print("replay with: edge-agent buffer dead CONFIG --replay ID... | --replay-all")
        return 0
    finally:
        disk.close()
