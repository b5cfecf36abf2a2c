"""Rosters for the central tests: the files a city operator writes, beside their token files."""

from __future__ import annotations

from pathlib import Path

#: Two schools, each with its token file beside the roster.
TWO = """
[[schools]]
code = "sh-a"
name = "School A"
token_file = "a.token"

[[schools]]
code = "sh-b"
name = "School B"
token_file = "b.token"
"""


def write_roster(folder: Path, body: str = TWO, tokens: dict[str, str] | None = None) -> Path:
    """``roster.toml`` holding ``body`` in ``folder``, with the token files ``tokens`` names."""
    for name, text in ({"a.token": "tok-a\n", "b.token": "tok-b\n"} if tokens is None else tokens).items():
        (folder / name).write_text(text)
    path = folder / "roster.toml"
    path.write_text(body)
    return path


def roster_of(folder: Path, codes: list[str]) -> Path:
    """A roster of ``codes``, school ``c``'s token ``token-c`` in ``c.token``."""
    body = "\n".join(
        f'[[schools]]\ncode = "{c}"\nname = "School {c}"\ntoken_file = "{c}.token"\n' for c in codes
    )
    return write_roster(folder, body, {f"{c}.token": f"token-{c}" for c in codes})
