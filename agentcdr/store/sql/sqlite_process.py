"""SQLite's process-wide settings for a process that serves reports: its memory statistics
off, so that the threads rendering a report's slices (``store.slices``) run side by side.

SQLite counts every allocation in process-wide statistics unless it was built with
``SQLITE_DEFAULT_MEMSTATUS=0`` (SQLite recommends that build for speed; Python's and the
distributions' libraries keep the default). The count takes one mutex for the whole process,
and rendering a row allocates for every piece it joins, so two threads rendering at once
spend most of the extra CPU time waiting on it; turned off, two threads take about 0.6 of
one thread's time (``python -m bench.sqlite_threads``, docs/benchmarks.md finding 1).

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
        names = ("shutdown", "config", "initialize", "malloc", "free", "status64")
        for name in names:
            getattr(library, f"sqlite3_{name}")
    except (ImportError, OSError, AttributeError):
        return None
    # sqlite3_config is variadic: with its fixed argument declared, ctypes passes the rest
    # as variadic arguments (on Apple's arm64 they go elsewhere than fixed ones).
    library.sqlite3_config.argtypes = [ctypes.c_int]
    library.sqlite3_malloc.restype = ctypes.c_void_p
    library.sqlite3_free.argtypes = [ctypes.c_void_p]
    return library


def _counted(library: ctypes.CDLL) -> bool:
    """Whether SQLite counts its allocations: an allocation moves the count of memory in
    use (SQLITE_STATUS_MEMORY_USED), which stays at zero with the statistics off."""
    used, high = ctypes.c_int64(), ctypes.c_int64()
    block = library.sqlite3_malloc(4096)
    status = library.sqlite3_status64(0, ctypes.byref(used), ctypes.byref(high), 0)
    library.sqlite3_free(block)
    return status != _SQLITE_OK or used.value != 0


def unshare_memory_statistics() -> bool:
    """Turns SQLite's memory statistics off for this process (see the module docstring:
    only with no connection open). True when they are off."""
    with _lock:
        if _Process.unshared:
            return True
        library = _library()
        if library is None or library.sqlite3_shutdown() != _SQLITE_OK:
            return False
        library.sqlite3_config(_SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0))
        if library.sqlite3_initialize() != _SQLITE_OK:
            return False  # (the sqlite3 module initialises it again on its next connection)
        _Process.unshared = not _counted(library)
        return _Process.unshared


def render_threads(cores: int) -> int:
    """How many slices of one report SQLite renders at once in this process: one per core
    with the memory statistics off, else one (two would spend the second core mostly waiting
    on the statistics' mutex)."""
    return max(1, cores) if _Process.unshared else 1
