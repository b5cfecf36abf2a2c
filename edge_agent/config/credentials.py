"""systemd credentials in secret paths: ``token_file = "${CREDENTIALS_DIRECTORY}/influxdb.token"``.

Under systemd the unit hands secrets over with ``LoadCredential=``: systemd (as root) reads
``/etc/edge-agent/secrets/influxdb.token`` and gives the agent, which runs as an
unprivileged user, a private copy in ``$CREDENTIALS_DIRECTORY``. A config names that
folder as ``${CREDENTIALS_DIRECTORY}``.

When the variable is not set (a technician runs ``edge-agent check`` or ``test`` by hand),
``${CREDENTIALS_DIRECTORY}`` stands for ``secrets/`` beside the main config file: the
folder the unit loads the credentials from, so the same config works both ways.
"""

from __future__ import annotations

import os
from pathlib import Path

VARIABLE = "CREDENTIALS_DIRECTORY"
_FORMS = ("${" + VARIABLE + "}", "$" + VARIABLE)
#: Where the credentials come from when systemd did not say: beside the main config.
FALLBACK = "secrets"


def uses_credentials(value: str) -> bool:
    """True when a path names the credentials folder."""
    return any(value.startswith(form) for form in _FORMS)


def expand(value: str, config_dir: Path) -> str:
    """Replace a leading ``${CREDENTIALS_DIRECTORY}`` with the folder it stands for now."""
    for form in _FORMS:
        if value.startswith(form):
            rest = value[len(form) :]
            return str(credentials_dir(config_dir)) + rest
    return value


def credentials_dir(config_dir: Path) -> Path:
    """``$CREDENTIALS_DIRECTORY``, or ``secrets/`` beside the main config when it is unset."""
    given = os.environ.get(VARIABLE)
    return Path(given) if given else Path(os.path.abspath(config_dir)) / FALLBACK


def expand_paths(tree: object, keys: frozenset[str], config_dir: Path) -> None:
    """Expand ``${CREDENTIALS_DIRECTORY}`` in a merged config, in place.

    In the values of ``keys`` and of every ``*_file`` key (token_file, auth_key_file,
    community_file...), whichever driver or sink defines it.
    """
    if isinstance(tree, dict):
        for key, value in tree.items():
            if (key in keys or key.endswith("_file")) and isinstance(value, str):
                tree[key] = expand(value, config_dir)
            else:
                expand_paths(value, keys, config_dir)
    elif isinstance(tree, list):
        for item in tree:
            expand_paths(item, keys, config_dir)
