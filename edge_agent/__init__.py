"""campus-edge-agent: the per-school edge agent of the smart-campus programme."""

__version__ = "0.1.0"
