"""HTTP/1.1 on asyncio streams: the agent's client (the store, the city's bundles) and its
listener (``/metrics``, ``/healthz``).

Written here rather than taken from aiohttp: the agent sends one POST and one GET and
answers two GET routes, and aiohttp's imports were 10 MB of the campus's 90 MB budget
(bench/README.md, docs/decisions.md). What is here is what those four need: keep-alive
connections, Content-Length and chunked bodies, TLS through :mod:`ssl`, a deadline on
every exchange and limits on everything a peer sends.
"""

from .client import BodyTooLarge, HttpClient, Response
from .server import HttpServer, Reply, Request
from .wire import ClosedEarly, HttpError

__all__ = [
    "BodyTooLarge",
    "ClosedEarly",
    "HttpClient",
    "HttpError",
    "HttpServer",
    "Reply",
    "Request",
    "Response",
]
