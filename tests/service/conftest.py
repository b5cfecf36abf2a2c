"""The real servers of the integration tests (simulated campus, VictoriaMetrics), reused here."""

from tests.integration.conftest import campus, store

__all__ = ["campus", "store"]
