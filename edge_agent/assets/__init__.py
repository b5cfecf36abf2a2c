"""The asset register on the gateway: who every device says it is, kept and written to the store.

``register.py`` keeps the assets and writes ``asset_info`` points and ``asset_changed``
events; ``state.py`` keeps them on disk across restarts; ``probe.py`` decides when each
device is asked (on connect, after a reconnect, every ``[agent] identity_interval``);
``gateway.py`` reads the gateway's own identity. The drivers' probes live in their folders
(``drivers/<protocol>/identity.py``), behind :class:`campus_core.identity.Identifying`.
"""

from .gateway import GATEWAY, gateway_identity
from .probe import GatewayProbe, ProbedDriver, ProbeStats, PushedWatch, watching
from .register import AssetRegister, Change

__all__ = [
    "GATEWAY",
    "AssetRegister",
    "Change",
    "GatewayProbe",
    "ProbeStats",
    "ProbedDriver",
    "PushedWatch",
    "gateway_identity",
    "watching",
]
