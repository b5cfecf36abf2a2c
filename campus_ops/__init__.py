"""campus-ops: the central operator's side of the smart-campus programme.

It reads the city store (the PromQL HTTP API of VictoriaMetrics), renders the store-side
configuration kept in ``deploy/central/`` and checks what the schools send. It may import
the schema and the config models, never the agent's runtime (buffer, forwarder, scheduler).
"""

from edge_agent import __version__

__all__ = ["__version__"]
