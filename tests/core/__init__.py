"""Tests of campus_core: what every part shares (units, the MQTT adapter, ...)."""
