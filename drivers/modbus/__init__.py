"""Modbus driver (``[[devices.modbus]]``): TCP, RTU on a serial port, RTU over TCP.

``config.py`` is what a technician writes, ``planner.py`` coalesces registers into reads,
``link.py`` shares one connection per endpoint or serial port (``mbap.py`` frames Modbus
TCP, pymodbus the serial and RTU-over-TCP links), ``decode.py`` turns words into values,
``holes.py`` splits a refused read, ``errors.py`` names what fails, ``driver.py`` polls,
``scan.py`` is ``edge-agent scan modbus``.
"""

from .config import ModbusDevice, Register
from .driver import ModbusDriver

__all__ = ["ModbusDevice", "ModbusDriver", "Register"]
