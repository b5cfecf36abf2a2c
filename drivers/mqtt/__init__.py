"""MQTT ingest: sensors that push JSON readings to a broker (``[[devices.mqtt]]``).

``config.py`` is what a technician writes, ``topic.py`` turns topic levels into tags,
``payload.py`` maps JSON to fields, ``broker.py`` connects (shared with the MQTT uplink
sink) and ``driver.py`` receives, delivers and acknowledges.
"""

from .config import FieldSpec, MqttDevice, TimestampSpec
from .driver import ListenerStats, MqttListener

__all__ = ["FieldSpec", "ListenerStats", "MqttDevice", "MqttListener", "TimestampSpec"]
