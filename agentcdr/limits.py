"""What one user, and one worker, may ask at once: requests per minute, reports in flight.

- **Requests per user per minute** (``user_requests_per_minute``, 0: no limit) are counted in
  the shared counts (``agentcdr.counts``: every worker of a host, or every host), one
  operation per request and only when the limit is set.
- **Reports in flight** per user (``user_concurrent_reports``) and per worker process
  (``worker_concurrent_reports``) are counted in the worker: a report holds its place from
  its query to its last byte. Past a limit a report is refused at once (``10429`` with
  ``Retry-After: 1``) instead of queueing: queued reports would hold memory and connections
  while small ones wait behind them. Each report in flight holds a bounded amount of memory
  (docs/api.md, "Limits"), so the places bound a worker's memory.

``stats`` counts what the limits refused (and the reports cut for a slow client), and
``observer``, when given, hears of each as it happens: ``/metrics`` counts them
(``agentcdr.web.metrics.count_limit``).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Final

from agentcdr.counts import Counts
from agentcdr.errors import TooManyRequests

BUSY_RETRY_AFTER: Final = 1  # seconds: a place frees as soon as any report ends


class Limits:
    def __init__(
        self,
        counts: Counts,
        per_minute: int = 0,
        per_user: int = 8,
        per_worker: int = 16,
        observer: Callable[[str], None] | None = None,
    ) -> None:
        self.counts = counts
        self.per_minute = per_minute
        self.per_user = per_user
        self.per_worker = per_worker
        self.running = 0
        self._by_user: dict[str, int] = {}
        # login_throttled, rate_limited, user_busy, worker_busy, slow_client_cut
        self.stats: Counter[str] = Counter()
        self._observer = observer

    def count(self, event: str) -> None:
        """One more ``event`` (one of the keys of ``stats``)."""
        self.stats[event] += 1
        if self._observer is not None:
            self._observer(event)

    async def request(self, user: str) -> None:
        """Counts one request of ``user``; ``TooManyRequests`` over the per-minute limit."""
        if self.per_minute <= 0:
            return
        wait, _ = await self.counts.take([(f"rate:{user}", self.per_minute)], 60, time.time())
        if wait is not None:
            self.count("rate_limited")
            raise TooManyRequests(math.ceil(wait), "requests for this user")

    def report(self, user: str) -> Slot:
        """A place for one report of ``user``, refused at once when none is free."""
        if self.running >= self.per_worker:
            self.count("worker_busy")
            raise TooManyRequests(BUSY_RETRY_AFTER, "reports running on this server")
        if self._by_user.get(user, 0) >= self.per_user:
            self.count("user_busy")
            raise TooManyRequests(BUSY_RETRY_AFTER, "reports running for this user")
        self.running += 1
        self._by_user[user] = self._by_user.get(user, 0) + 1
        return Slot(self, user)

    def _free(self, user: str) -> None:
        self.running -= 1
        left = self._by_user[user] - 1
        if left:
            self._by_user[user] = left
        else:
            del self._by_user[user]


class Slot:
    """A report's place; ``release`` gives it back (once, however often it is called)."""

    def __init__(self, limits: Limits, user: str) -> None:
        self._limits: Limits | None = limits
        self._user = user

    def take(self) -> Slot:
        """The place moved into a new ``Slot`` (for a stream to release at its end); this
        one then releases nothing."""
        limits, self._limits = self._limits, None
        moved = Slot.__new__(Slot)
        moved._limits, moved._user = limits, self._user
        return moved

    def release(self) -> None:
        if self._limits is not None:
            limits, self._limits = self._limits, None
            limits._free(self._user)
