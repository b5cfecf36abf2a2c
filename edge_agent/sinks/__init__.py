"""Sinks: where buffered batches go. A sink knows its wire protocol and nothing of devices.

The protocol every sink satisfies and the errors it raises live in :mod:`campus_core.sinks`.
"""
