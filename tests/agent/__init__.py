"""Tests of the agent's own parts (edge_agent): buffer, pipeline, forwarder, pacing, encoding."""
