"""Every ```toml example in the READMEs and docs is valid, so examples cannot rot.

Each block must be TOML. A block that configures devices, sinks or ``[fleet]`` is loaded
by the agent's own loader beneath a minimal ``[agent]`` table, exactly as ``edge-agent
check`` would load it; only the secret and key files it names may be missing (they are
the technician's, e.g. ``/etc/edge-agent/secrets/...``). A fragment of one entry's keys
(no table of its own) is only parsed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from edge_agent.config import ConfigError, load

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(
    [
        ROOT / "README.md",
        ROOT / "bench" / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "drivers").glob("*/README.md"),
        *(ROOT / "simulators").rglob("README.md"),
    ]
)
BLOCK = re.compile(r"^```toml\n(.*?)^```", re.S | re.M)
LOADED = {"devices", "sinks", "fleet"}
#: The one kind of problem an example may have: a file the technician provides.
PLACEHOLDER = re.compile(r"file '[^']*' does not exist; create it or fix the path")


def examples() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{doc.relative_to(ROOT)}:{line}", match.group(1)))
    return found


EXAMPLES = examples()


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 10
    assert sum(1 for _, block in EXAMPLES if set(tomllib.loads(block)) & LOADED) >= 8


@pytest.mark.parametrize(("where", "block"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_an_example_is_what_the_agent_loads(where: str, block: str, tmp_path: Path) -> None:
    try:
        data = tomllib.loads(block)
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"{where}: not valid TOML: {exc}")
    if not set(data) & LOADED:
        return
    config = tmp_path / "agent.toml"
    agent = "" if "agent" in data else f'[agent]\nschool = "sh-doc"\nstate_dir = "{tmp_path / "state"}"\n\n'
    config.write_text(agent + block, encoding="utf-8")
    try:
        load(config, bundle=None)
    except ConfigError as exc:
        problems = [str(p) for p in exc.problems if not PLACEHOLDER.search(p.message)]
        assert not problems, f"{where}: " + "\n".join(problems)
