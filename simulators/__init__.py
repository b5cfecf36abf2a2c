"""Device simulators for campus-edge-agent tests, benchmarks and demos.

``python -m simulators campus`` serves a simulated school campus over Modbus
TCP on loopback; see ``simulators/README.md``.
"""

from .campus import Campus, SimulatedDevice, build_devices, register_map, render_devices_config
from .profiles import KINDS, RegisterSpec, render_profile

__all__ = [
    "KINDS",
    "Campus",
    "RegisterSpec",
    "SimulatedDevice",
    "build_devices",
    "register_map",
    "render_devices_config",
    "render_profile",
]
