"""The VICIdial adapter's report rows: the read of one report as keyset pages on one
read-only connection, the conversion of its rows (wall clock to UTC, campaign to tenant),
how a failed read is told to the caller, and the small time-limited cache of lookups.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from agentcdr.clock import ZoneClock
from agentcdr.errors import DatabaseUnavailable
from agentcdr.records import COL, Cursor, ReportRequest, Row
from agentcdr.store import mysql
from agentcdr.store.mysql import DRIVER_ERRORS, Connection
from agentcdr.store.stream import KeysetPages
from agentcdr.store.vicidial.sql import Plan, report_sql

if TYPE_CHECKING:
    from agentcdr.store.vicidial.store import VicidialStore

log = logging.getLogger("agentcdr.store.vicidial")

# The seconds of answer time a report's first query reads; later windows are sized from the
# rows per second seen, from a minute to a week.
_FIRST_WINDOW: Final = 3600
_MIN_WINDOW: Final = 60
_MAX_WINDOW: Final = 7 * 86400


def unavailable(
    exc: BaseException, what: str = "read the VICIdial database"
) -> DatabaseUnavailable:
    if mysql.ran_past_time_limit(exc):
        return mysql.unavailable(exc)
    # Logged for the operator (code and text only: the SQL and its values stay out).
    code = mysql.error_code(exc)
    log.warning("could not %s: %s %s", what, code, exc.args[1:] if code else exc)
    if mysql.denied(exc):
        return DatabaseUnavailable(
            "The VICIdial database refused a read; check agentcdr's GRANTs (docs/vicidial.md)"
        )
    return DatabaseUnavailable()


class Cached:
    """One value kept for ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.value: Any = None
        self.expires = 0.0

    def get(self) -> Any:
        return self.value if time.monotonic() < self.expires else None

    def put(self, value: Any) -> Any:
        self.value, self.expires = value, time.monotonic() + self.ttl
        return value


class VicidialRows:
    """A report on one connection, as keyset pages inside one read-only transaction (a
    ``BatchSource``); the first fetch plans the report (tables, campaigns) and a report
    that can have no rows runs no query."""

    def __init__(self, store: VicidialStore, conn: Connection, request: ReportRequest) -> None:
        self._store = store
        self._conn = conn
        self._request = request
        self._pages: KeysetPages | None = None
        self._plan: Plan | None = None
        self._started = False
        self._convert = row_converter(store.clock, store.tenant_of)
        self._window = _FIRST_WINDOW

    async def _page(self, request: ReportRequest) -> list[Row]:
        """One keyset page (``limit + 1`` rows after the cursor), read as windows of answer
        time of about a page each. One query for the rest of the range would have MariaDB
        sort all of that rest for every page (``vicidial_log`` has an index on
        ``call_date`` alone, which does not give the ``(call_date, uniqueid)`` order), so a
        month took minutes; a window sorts only its own rows. Each window is continued
        after the last row read, so a row read twice (a window's wall-clock bounds overlap
        in an autumn's repeated hour) is never sent twice."""
        assert self._plan is not None
        assert request.limit is not None
        want = request.limit + 1
        desc = request.order == "desc"
        lo, hi = request.start_ts, request.end_ts
        if request.cursor is not None:
            if desc:
                hi = min(hi, request.cursor.answer_ts + 1)
            else:
                lo = max(lo, request.cursor.answer_ts)
        rows: list[Row] = []
        part = request
        while lo < hi:
            span = self._window
            start, end = (max(lo, hi - span), hi) if desc else (lo, min(hi, lo + span))
            part = replace(part, start_ts=start, end_ts=end, limit=want - len(rows) - 1)
            sql, params = report_sql(part, self._plan)
            got = self._convert(await mysql.fetch_all(self._conn, sql, params))
            rows += got
            if len(rows) >= want:
                break
            if got:
                last = got[-1]
                part = replace(part, cursor=Cursor(last[COL["answer_ts"]], last[COL["id"]]))
            if desc:
                hi = start
            else:
                lo = end
            # The next window: about the rest of a page at the rate just seen.
            wanted = want - len(rows)
            guess = wanted * (end - start) // len(got) if got else span * 4
            self._window = min(_MAX_WINDOW, max(_MIN_WINDOW, guess))
        return rows

    async def fetch(self, rows: int) -> Sequence[Row]:
        try:
            if not self._started:
                self._started = True
                await mysql.execute(self._conn, "START TRANSACTION READ ONLY")
                self._plan = await self._store.plan(self._request, self._conn)
                if self._plan is not None:
                    self._pages = KeysetPages(self._page, self._request)
            return [] if self._pages is None else await self._pages.fetch(rows)
        except DRIVER_ERRORS as exc:
            raise unavailable(exc) from exc

    async def release(self, exhausted: bool) -> None:
        pool = self._store.live_pool()
        if exhausted:
            try:
                await mysql.execute(self._conn, "COMMIT")
            except DRIVER_ERRORS:
                pass  # a connection that fails to finish is simply not reused
            else:
                pool.release(self._conn)
                return
        mysql.discard(pool, self._conn)


def row_converter(
    clock: ZoneClock, tenant_of: Callable[[str, str], tuple[str, str]]
) -> Callable[[Sequence[tuple[Any, ...]]], list[Row]]:
    """Rows of the report SQL (wall-clock seconds, campaign name and group) -> store rows (UTC,
    portfolio and profile)."""
    stretch = clock.local_stretch

    def convert(batch: Sequence[tuple[Any, ...]]) -> list[Row]:
        out: list[Row] = []
        append = out.append
        lo, hi, offset = 1, 0, 0  # empty: the first row asks the clock
        for (
            call_id,
            agent,
            local_s,
            dispo,
            phone,
            loan,
            kind,
            secs,
            lead,
            term,
            name,
            group,
        ) in batch:
            if not lo <= local_s < hi:
                lo, hi, offset = stretch(local_s)
            portfolio, profile = tenant_of(name, group)
            append(
                (
                    call_id,
                    call_id,
                    agent,
                    local_s - offset,
                    dispo,
                    phone,
                    loan,
                    kind,
                    secs,
                    lead or None,  # VICIdial writes lead_id 0 for "no lead"
                    term,
                    portfolio,
                    name,
                    profile,
                )
            )
        return out

    return convert
