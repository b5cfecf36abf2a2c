"""SNMP driver (``[[devices.snmp]]``): v1 and v2c through the driver's own codec, v3 through pysnmp.

``config.py`` is what a technician writes, ``profiles.py`` and ``mibs/`` name what is read,
``plan.py`` compiles it once, ``reads.py`` GETs and walks over ``session.py`` (``ber.py`` and
``transport.py`` for v1/v2c, ``usm.py`` for v3), ``convert.py`` and ``rates.py`` turn values
into fields, ``driver.py`` polls, ``scan.py`` is ``edge-agent scan snmp``.
"""

from .config import Column, ScalarField, SnmpDevice, Table
from .driver import SnmpDriver

__all__ = ["Column", "ScalarField", "SnmpDevice", "SnmpDriver", "Table"]
