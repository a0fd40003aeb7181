"""``make bench``: agentcdr's reports against the database's own command-line export.

``python -m bench.run`` loads a generated data set into every available store with
``agentcdr import``, then times reports through a real ``agentcdr serve`` process beside the
database CLI exporting the same rows, records the server's peak memory, puts it under load
with wrk, and writes ``docs/benchmarks.md``. See that file for what is measured and why.

Modules: ``data`` (the data set and the report ranges), ``stores`` (each store: set-up, load,
CLI export), ``vicidial`` (a VICIdial data set for the read-only adapter), ``server`` (the
server process, timed requests, memory), ``load`` (wrk), ``report`` (tables and the
Markdown), ``run`` (the command).
"""

from __future__ import annotations
