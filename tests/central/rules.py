"""The central rule files as data, for the tests that hold them to promtool, vmalert and the agent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "deploy" / "central" / "rules"
RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
UNIT_TESTS = sorted((RULES_DIR / "tests").glob("*.yml"))

#: The measurements the agent writes (docs/schema.md); a metric is <measurement>_<field>.
MEASUREMENTS = (
    "classroom_env",
    "energy_meter",
    "training_machine",
    "network_interface",
    "ups",
    "hvac",
    "edge_agent_device",
    "edge_agent",
)
_METRIC = re.compile(r"\b(?:" + "|".join(MEASUREMENTS) + r")_[a-z0-9_]+\b")
_LABEL = re.compile(r"\$labels\.([a-z_]+)")


@dataclass(frozen=True)
class Rule:
    """One alerting or recording rule of a rule file."""

    file: str
    group: str
    name: str
    expr: str
    alert: bool
    labels: dict[str, str]
    annotations: dict[str, str]

    def metrics(self) -> set[str]:
        """The agent's metric names the expression reads."""
        return set(_METRIC.findall(self.expr))

    def summary_labels(self) -> set[str]:
        """The labels the summary names (``{{ $labels.room }}``)."""
        return set(_LABEL.findall(self.annotations.get("summary", "")))


def rules() -> list[Rule]:
    """Every rule of every file in deploy/central/rules."""
    out = []
    for path in RULE_FILES:
        document: dict[str, Any] = yaml.safe_load(path.read_text())
        for group in document["groups"]:
            for rule in group["rules"]:
                alert = "alert" in rule
                out.append(
                    Rule(
                        path.name,
                        group["name"],
                        rule["alert"] if alert else rule["record"],
                        rule["expr"],
                        alert,
                        dict(rule.get("labels", {})),
                        dict(rule.get("annotations", {})),
                    )
                )
    return out


def alerts() -> list[Rule]:
    """The alerting rules."""
    return [rule for rule in rules() if rule.alert]


def fast_copies(folder: Path, interval: str = "1s") -> list[Path]:
    """Copies of the rule files whose groups are evaluated every ``interval``: the one change."""
    copies = []
    for path in RULE_FILES:
        document = yaml.safe_load(path.read_text())
        for group in document["groups"]:
            group["interval"] = interval
        copy = folder / path.name
        copy.write_text(yaml.safe_dump(document))
        copies.append(copy)
    return copies
