"""The core beneath drivers, sinks, the agent and campus-ops; it imports none of them.

- :mod:`campus_core.readings`: the reading types a driver hands over;
- :mod:`campus_core.devices`: the Driver, Listener and DeviceConfig protocols;
- :mod:`campus_core.sinks`: the Sink protocol and its errors;
- :mod:`campus_core.plugins`: a factory named by ``"module:attr"``, so that a config model can
  name the component it builds without importing it (which would make a cycle);
- :mod:`campus_core.units`, :mod:`~campus_core.files`, :mod:`~campus_core.tls`,
  :mod:`~campus_core.validated`: durations and sizes, secret files, TLS options, and the
  validation helpers every config model shares.
"""
