"""``campus-ops console``: the city console, a read-only web application for the operators.

It reads the store's PromQL API and vmalert's API and serves pages that refresh themselves:
the city (every school worst first, as ``campus-ops fleet`` judges them), a school, a
device, the alerts. Loopback by default; on any other address it asks for the operators'
read token or a basic-auth user, and without one it refuses to start (:mod:`.auth`).
docs/central.md ("The console") says how to run it.

The modules, by concern: :mod:`.command` (the command line), :mod:`.app` (routes), :mod:`.auth`
(who may look), :mod:`.sources`
(the store and vmalert, with timeouts), :mod:`.queries` and :mod:`.liveness` (what is asked),
:mod:`.city`, :mod:`.school`, :mod:`.device`, :mod:`.alertsview` (each page's data),
:mod:`.i18n` and :mod:`.strings` (Chinese and English), :mod:`.page` and ``static/`` (what the
browser gets).
"""
