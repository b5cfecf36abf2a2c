"""``edge-agent run``, writing down every reading its change filters were given: the truth of every poll.

``python -m bench.recording_agent CONFIG TRUTH.jsonl`` runs the agent exactly as
``edge-agent run CONFIG`` does, and appends one JSON line per reading that reached a
device's change filter (``edge_agent.reporting.ChangeFilter.apply``), before the filter
chose what to send: ``[device, time_ms, measurement, tags, names, values]``. That is the
value the device gave at each poll (or each pushed message), at the poll's own timestamp.
bench.report_on_change compares it with what the store answers for the fields the filter
held back. The filter's result is returned untouched, so what the agent sends is what it
would send without the recording; only a device that reports on change has a filter, so
only such devices are written down.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

from campus_core.readings import Reading
from edge_agent import cli
from edge_agent.reporting import ChangeFilter

Apply = Callable[[ChangeFilter, list[Reading]], list[Reading]]


def recording(original: Apply, out: IO[str]) -> Apply:
    """``ChangeFilter.apply`` that first writes each reading it is given to ``out``."""

    def apply(self: ChangeFilter, readings: list[Reading]) -> list[Reading]:
        for r in readings:
            out.write(json.dumps([r.device, r.time_ms, r.measurement, r.tags, r.names, r.values]) + "\n")
        return original(self, readings)

    return apply


def main(argv: list[str] | None = None) -> int:
    """Run the agent on CONFIG until SIGTERM, recording into TRUTH."""
    config, truth = argv if argv is not None else sys.argv[1:]
    with Path(truth).open("w", encoding="utf-8") as out:
        # Patched on the class: every device's filter, polled or pushed, made before or after.
        setattr(ChangeFilter, "apply", recording(ChangeFilter.apply, out))  # noqa: B010 - mypy refuses a method assignment
        return cli.main(["run", config])


if __name__ == "__main__":
    sys.exit(main())
