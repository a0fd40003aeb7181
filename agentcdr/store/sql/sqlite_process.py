"""SQLite's process-wide settings for a process that serves reports: its memory statistics
off, so that the threads rendering a report's slices (``store.slices``) run side by side.

SQLite counts every allocation in process-wide statistics unless it was built with
``SQLITE_DEFAULT_MEMSTATUS=0`` (SQLite recommends that build for speed; Python's and the
distributions' libraries keep the default). The count takes one mutex for the whole process,
and rendering a row allocates for every piece it joins, so two threads rendering at once
spent twice the CPU time of one for the same wall time (docs/benchmarks.md). Turned off, two
threads take about half the time of one.

``sqlite3_config`` may be called only while SQLite is not initialised, and the ``sqlite3``
module initialises it, so ``unshare_memory_statistics`` shuts SQLite down, configures it
and starts it again: safe only while the process has no SQLite connection open and no other
thread uses SQLite. The server's worker calls it first thing, before its app opens a store
(``web.app.app_from_env``); nothing else calls it (a host process embedding agentcdr keeps
its SQLite as it is). Where the library cannot be reached or refuses, the statistics stay
on and SQLite slices are read one at a time, as before.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Final

_SQLITE_OK: Final = 0
_SQLITE_CONFIG_MEMSTATUS: Final = 9  # sqlite3.h

_lock = threading.Lock()


class _Process:
    unshared = False  # the memory statistics are off


def _library() -> ctypes.CDLL | None:
    """The SQLite library the ``sqlite3`` module uses (the symbols its extension sees)."""
    try:
        import _sqlite3

        library = ctypes.CDLL(_sqlite3.__file__)
        for name in ("sqlite3_shutdown", "sqlite3_config", "sqlite3_initialize"):
            getattr(library, name)
    except (ImportError, OSError, AttributeError):
        return None
    return library


def unshare_memory_statistics() -> bool:
    """Turns SQLite's memory statistics off for this process (see the module docstring:
    only with no connection open). True when they are off."""
    with _lock:
        if _Process.unshared:
            return True
        library = _library()
        if library is None or library.sqlite3_shutdown() != _SQLITE_OK:
            return False
        configured = library.sqlite3_config(_SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0))
        if library.sqlite3_initialize() != _SQLITE_OK:
            return False  # (the sqlite3 module initialises it again on its next connection)
        _Process.unshared = configured == _SQLITE_OK
        return _Process.unshared


def render_threads(cores: int) -> int:
    """How many slices of one report SQLite renders at once in this process: one per core
    with the memory statistics off, else one (two would take twice the CPU time for the same
    wall time)."""
    return max(1, cores) if _Process.unshared else 1
