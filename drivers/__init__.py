"""Device drivers: each knows one protocol and hands back plain readings.

A driver imports :mod:`campus_core` and its own package, nothing of the agent: the protocols
it satisfies are in :mod:`campus_core.devices`, the reading types in
:mod:`campus_core.readings`. See docs/extending.md.
"""
