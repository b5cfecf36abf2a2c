"""Config loading under fuzzing: whatever a file holds, the answer is a config or a ConfigError.

Never a traceback: a technician's typo must always come back as a precise message.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.config import ConfigError, load

KEYS = st.sampled_from(
    [
        "agent",
        "school",
        "campus",
        "interval",
        "state_dir",
        "buffer",
        "max_disk",
        "sinks",
        "influxdb",
        "url",
        "bucket",
        "token",
        "devices",
        "modbus",
        "snmp",
        "mqtt",
        "name",
        "host",
        "port",
        "unit",
        "registers",
        "field",
        "table",
        "address",
        "type",
        "order",
        "scale",
        "profile",
        "tags",
        "broker",
        "topic",
        "fields",
        "path",
        "version",
        "community",
        "tables",
        "log",
        "level",
        "health",
        "listen",
        "x",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "10s",
            "2GiB",
            "http://127.0.0.1:8428",
            "float32",
            "input",
            "if-mib",
            "mqtt://127.0.0.1:1883",
            "2c",
            "ABCD",
            "sh-031",
            "127.0.0.1",
        ]
    ),
)


def toml_value(depth: int = 3) -> st.SearchStrategy[Any]:
    if depth == 0:
        return SCALARS.filter(lambda v: v is not None)
    inner = toml_value(depth - 1)
    return st.one_of(
        SCALARS.filter(lambda v: v is not None),
        st.lists(inner, max_size=3),
        st.dictionaries(KEYS, inner, max_size=4),
    )


def render(data: dict[str, Any]) -> str:
    """Inline-table TOML for any nesting of dicts, lists and scalars."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"').encode("unicode_escape").decode() + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(i) for i in v) + "]"
        return "{" + ", ".join(f'"{k}" = {value(i)}' for k, i in v.items()) + "}"

    return "\n".join(f'"{k}" = {value(v)}' for k, v in data.items()) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, toml_value(), max_size=5))
def test_any_document_gives_a_config_or_a_config_error(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "agent.toml"
        path.write_text(render(data))
        try:
            load(path)
        except ConfigError as exc:
            assert exc.problems and all(str(p) for p in exc.problems)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_config_error_not_a_crash(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "agent.toml"
        path.write_bytes(raw)
        with contextlib.suppress(ConfigError):
            load(path)
