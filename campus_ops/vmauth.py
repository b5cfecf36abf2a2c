"""``campus-ops vmauth``: a vmauth config giving each school its own identity at the store.

Each school's gateway gets its own bearer token; what it writes goes to the store's
``/api/v2/write`` (and ``/write``) with ``extra_label=school=<code>``, which VictoriaMetrics
applies over the point's own ``school`` tag, and over an ``extra_label`` the gateway adds
itself. A school's token can do nothing but write. Operators read through a separate user.

vmauth 1.79 takes the agent's ``Authorization: Token <t>`` header as it takes ``Bearer <t>``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .roster import Roster, RosterError, load_roster, read_token

HELP = "print a vmauth config: one bearer token per school, school=<code> forced on its writes"

#: The paths a gateway writes to (the InfluxDB v2 write API and its v1 twin).
WRITE_PATHS = ("/api/v2/write", "/write")
#: The paths operators read: PromQL API, export, the store's own UI.
READ_PATHS = ("/api/v1/.*", "/vmui.*", "/prometheus/.*")


def _quote(text: str) -> str:
    # JSON strings are YAML flow scalars: safe for any token or URL.
    return json.dumps(text)


def render_vmauth(
    roster: Roster, store_url: str, *, roster_path: Path | None = None, operator_token: str | None = None
) -> str:
    """The vmauth config (YAML) for ``roster`` in front of the store at ``store_url``.

    Every school becomes one user: its token, a ``url_map`` of the write paths to
    ``<store_url>/?extra_label=school=<code>``. With ``operator_token``, one more user may
    read (``/api/v1/*``, ``/vmui``) without a forced label. Raises
    :class:`~campus_ops.roster.RosterError` for an empty or unreadable token file, or a token
    two schools share. Public: the city bench renders its vmauth with it.
    """
    base = store_url.rstrip("/")
    where = roster_path or Path("roster")
    lines = ["# Rendered by campus-ops vmauth; one user per school of the roster.", "users:"]
    owners: dict[str, str] = {}
    for index, school in enumerate(roster.schools):
        token = read_token(where, index, school)
        if token in owners:
            raise RosterError(
                f"{where}: schools[{index}].token_file: same token as school "
                f"{owners[token]!r}; each school needs its own"
            )
        owners[token] = school.code
        lines += [
            f"  # {school.code}: {school.name}",
            f"  - bearer_token: {_quote(token)}",
            "    url_map:",
            f"      - src_paths: [{', '.join(_quote(p) for p in WRITE_PATHS)}]",
            f"        url_prefix: {_quote(f'{base}/?extra_label=school={school.code}')}",
        ]
    if operator_token is not None:
        if operator_token in owners:
            raise RosterError(f"the operators' token is also school {owners[operator_token]!r}'s")
        lines += [
            "  # operators: read every school",
            f"  - bearer_token: {_quote(operator_token)}",
            "    url_map:",
            f"      - src_paths: [{', '.join(_quote(p) for p in READ_PATHS)}]",
            f"        url_prefix: {_quote(base)}",
        ]
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--roster FILE --store URL [--operator-token-file FILE]``."""
    parser.add_argument("--roster", type=Path, required=True, help="the roster TOML (deploy/central/)")
    parser.add_argument(
        "--store",
        default="http://127.0.0.1:8428",
        help="the VictoriaMetrics URL vmauth forwards to (default %(default)s)",
    )
    parser.add_argument(
        "--operator-token-file",
        type=Path,
        help="file with the token operators read the store with (a separate user)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the config; 2 when the roster or a token file cannot be used."""
    try:
        roster = load_roster(args.roster, tokens=True)
        operator = None
        if args.operator_token_file is not None:
            operator = args.operator_token_file.read_text(encoding="utf-8").strip()
            if not operator:
                raise RosterError(f"--operator-token-file {str(args.operator_token_file)!r} is empty")
        print(render_vmauth(roster, args.store, roster_path=args.roster, operator_token=operator), end="")
    except RosterError as exc:
        print(f"campus-ops vmauth: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"campus-ops vmauth: cannot read {exc.filename!r}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0
