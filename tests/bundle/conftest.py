"""The simulated campus the pull tests poll, shared with the integration tests."""

from tests.integration.conftest import campus

__all__ = ["campus"]
