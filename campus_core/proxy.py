"""``proxy = "http://proxy.school.example:3128"``: the HTTP proxy a school's gateway must go through.

Both the store's sink and the city's bundles take one. Without it they go through the
proxy the service's environment names (``HTTPS_PROXY``, ``HTTP_PROXY``, with ``NO_PROXY``
for the hosts that are reached directly), as most programs on the gateway do.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator


def _proxy_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(
            'must be the proxy\'s http:// URL, e.g. "http://proxy.school.example:3128" '
            "(the agent speaks TLS to the store through it: CONNECT)"
        )
    if parts.username or parts.password:
        raise ValueError(
            "put no credentials in the URL: a proxy that asks for them is set with HTTPS_PROXY "
            "in the service's environment, readable by root only (docs/operations.md)"
        )
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    return url.rstrip("/")


ProxyUrl = Annotated[str, AfterValidator(_proxy_url)]
"""An HTTP proxy's URL: ``http://host:port``, no credentials."""
