"""The read-only VICIdial adapter: agent_cdr served straight from a VICIdial/GoAutoDial
database (``vicidial+mysql://user:password@host/asterisk``, also ``vicidial+mariadb://``).

Read-only at the connection level: every session runs ``SET SESSION TRANSACTION READ ONLY``
and every read is a ``START TRANSACTION READ ONLY``, so even an account with more than the
documented SELECT grants cannot change the dialer's data through agentcdr. The SQL itself is
in ``sql``, the pages of a report and their conversion in ``rows``; logging in with VICIdial
users is in ``logins``.

Connections come from ``agentcdr.store.mysql`` (the pool, the flavour and the errors, shared
with agentcdr's own MariaDB store), each set read-only with the statement time limit before
anything runs on it. Reports are read as keyset pages (``store.stream.KeysetPages``, as the
MariaDB store reads), each page whole, because asyncmy has no flow control; a report holds
one connection until its last row is read, and the first batch is fetched inside
``report()`` so a failing query fails before the response starts. Small lookups (which
tables exist, the oldest live row, the campaign list) are cached for a few minutes: they
change rarely, and a report must not pay for them every time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Final, NoReturn
from zoneinfo import ZoneInfo

from agentcdr.clock import ZoneClock, zone
from agentcdr.errors import ConfigError, DatabaseUnavailable, InvalidValue, ReadOnlyStore
from agentcdr.records import ReportRequest, profile_of
from agentcdr.render import RowStyle
from agentcdr.settings import (
    VICIDIAL_LOAN_COLUMNS,
    VICIDIAL_TENANT_SOURCES,
    Settings,
    local_zone_name,
    mask_url,
)
from agentcdr.store import mysql
from agentcdr.store.base import LoginSource, PoolUse, TextStream, UserStore
from agentcdr.store.mysql import DRIVER_ERRORS, Connection
from agentcdr.store.sql.urls import parse_server_url
from agentcdr.store.stream import BatchStream, empty_stream
from agentcdr.store.vicidial.logins import HASHING_SQL, VicidialLogins, check_hashing
from agentcdr.store.vicidial.rows import Cached, VicidialRows, unavailable
from agentcdr.store.vicidial.sql import (
    AGENT_LOG_TABLES,
    INBOUND_TABLES,
    MAX_QUEUE_SECONDS,
    OUTBOUND_TABLES,
    Plan,
    Source,
    summary_sql,
)
from agentcdr.summary import SummaryRow, finish

log = logging.getLogger("agentcdr.store.vicidial")

SCHEMES: Final = ("vicidial+mysql", "vicidial+mariadb")
# Tables every report reads; a missing one (or a missing GRANT) fails at start-up.
REQUIRED_TABLES: Final = (
    "vicidial_log",
    "vicidial_list",
    "vicidial_campaigns",
    "vicidial_statuses",
    "vicidial_campaign_statuses",
)
INBOUND_REQUIRED: Final = ("vicidial_closer_log", "vicidial_agent_log")
AUTH_REQUIRED: Final = ("vicidial_users", "vicidial_user_groups", "system_settings")
_TABLES_TTL: Final = 300.0  # which tables exist, and the oldest row of each live log
_CAMPAIGNS_TTL: Final = 60.0


def _plain_url(url: str) -> str:
    """The ``mysql://`` URL of a ``vicidial+mysql://`` one (a ConfigError if it is not)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise ConfigError(
            f"not a VICIdial database URL: use vicidial+mysql://user:password@host/asterisk"
            f" (got {scheme}://…)"
        )
    plain = f"mysql://{rest}"
    if not parse_server_url(plain).database:
        raise ConfigError("the VICIdial database URL names no database (usually /asterisk)")
    return plain


def _no_change_times() -> InvalidValue:
    return InvalidValue(
        "updatedSince",
        "not supported by the VICIdial store: VICIdial's call logs record no change time "
        "(ask for a date range instead)",
    )


class VicidialStore:
    """A read-only ``CallStore`` over a VICIdial database (docs/vicidial.md)."""

    read_only = True
    users: UserStore | None = None  # API users live in ``users_db``
    imports = None  # nothing is ever imported into a dialer's database

    def __init__(
        self,
        url: str,
        *,
        statement_timeout: float = 600.0,
        tz: ZoneInfo | None = None,
        loan_column: str = "vendor_lead_code",
        tenant_source: str = "campaign_name",
        inbound: bool = False,
        auth: bool = False,
    ) -> None:
        if loan_column not in VICIDIAL_LOAN_COLUMNS:
            raise ConfigError(f"vicidial_loan_column must be one of {VICIDIAL_LOAN_COLUMNS}")
        if tenant_source not in VICIDIAL_TENANT_SOURCES:
            raise ConfigError(f"vicidial_tenant_source must be one of {VICIDIAL_TENANT_SOURCES}")
        self.url = url
        self._plain_url = _plain_url(url)
        self._pool_size = parse_server_url(self._plain_url).pool_size
        self._statement_timeout = statement_timeout
        self._pool: Any = None
        self.clock = ZoneClock(tz or zone(local_zone_name()))
        self.loan_column = loan_column
        self.tenant_source = tenant_source
        self.inbound = inbound
        self.auth = auth
        self.logins: LoginSource | None = VicidialLogins(self) if auth else None
        self._tables = Cached(_TABLES_TTL)
        self._spans: dict[str, Cached] = {}
        self._campaigns = Cached(_CAMPAIGNS_TTL)
        self._users_case_insensitive = True
        self._tenants: dict[tuple[str, str], tuple[str, str]] = {}

    @classmethod
    def from_settings(cls, url: str, settings: Settings | None) -> VicidialStore:
        if settings is None:
            return cls(url)
        return cls(
            url,
            statement_timeout=settings.statement_timeout,
            tz=settings.vicidial_zone,
            loan_column=settings.vicidial_loan_column,
            tenant_source=settings.vicidial_tenant_source,
            inbound=settings.vicidial_inbound,
            auth=settings.vicidial_auth,
        )

    # -- small reads -----------------------------------------------------------------------
    def live_pool(self) -> Any:
        if self._pool is None:
            raise DatabaseUnavailable("The VICIdial store is not open")
        return self._pool

    async def _acquire(self) -> Connection:
        try:
            return await self.live_pool().acquire()
        except DRIVER_ERRORS as exc:
            raise unavailable(exc, "connect to the VICIdial database") from exc

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A pooled connection inside one read-only transaction."""
        conn = await self._acquire()
        ok = False
        try:
            try:
                await mysql.execute(conn, "START TRANSACTION READ ONLY")
                yield conn
                await mysql.execute(conn, "COMMIT")
            except DRIVER_ERRORS as exc:
                raise unavailable(exc) from exc
            ok = True
        finally:
            if ok:
                self.live_pool().release(conn)
            else:
                mysql.discard(self.live_pool(), conn)

    async def fetch_all(
        self, sql: str, params: Sequence[Any] = (), conn: Connection | None = None
    ) -> list[tuple[Any, ...]]:
        """Rows of a small query (lookups, logins), in a read-only transaction."""
        if conn is None:
            async with self.read() as own:
                return await self.fetch_all(sql, params, own)
        async with conn.cursor() as cur:
            await cur.execute(sql, tuple(params))
            return list(await cur.fetchall())

    async def _existing_tables(self, conn: Connection) -> frozenset[str]:
        cached = self._tables.get()
        if cached is None:
            rows = await self.fetch_all(
                "SELECT LOWER(table_name) FROM information_schema.tables "
                "WHERE table_schema = DATABASE()",
                (),
                conn,
            )
            cached = self._tables.put(frozenset(r[0] for r in rows))
        return frozenset(cached)

    async def _span(self, conn: Connection, table: str) -> tuple[datetime | None, datetime | None]:
        """MIN and MAX of a log's call_date (read from the index alone), cached a few minutes."""
        cache = self._spans.setdefault(table, Cached(_TABLES_TTL))
        if time.monotonic() >= cache.expires:
            sql = f"SELECT MIN(call_date), MAX(call_date) FROM {table}"
            cache.put(tuple((await self.fetch_all(sql, (), conn))[0]))
        oldest, newest = cache.value
        return oldest, newest

    async def campaigns(self, conn: Connection | None = None) -> list[tuple[str, str, str]]:
        """(campaign_id, campaign_name, user_group) of every campaign; cached briefly."""
        cached = self._campaigns.get()
        if cached is None:
            rows = await self.fetch_all(
                "SELECT campaign_id, COALESCE(campaign_name, ''), COALESCE(user_group, '') "
                "FROM vicidial_campaigns",
                (),
                conn,
            )
            cached = self._campaigns.put([(str(a), str(b), str(c)) for a, b, c in rows])
        return list(cached)

    def tenant_of(self, campaign_name: str, campaign_group: str) -> tuple[str, str]:
        """A campaign's (portfolio, profile) under the ``vicidial_tenant_source`` setting."""
        key = (campaign_name, campaign_group)
        found = self._tenants.get(key)
        if found is None:
            if self.tenant_source == "user_group":
                portfolio = campaign_group.upper()
            else:
                portfolio = campaign_name[:3].upper()
            found = (portfolio, profile_of(campaign_name, portfolio) if campaign_name else "")
            if len(self._tenants) < 100_000:
                self._tenants[key] = found
        return found

    # -- life cycle ------------------------------------------------------------------------
    async def _connect(self) -> None:
        """The pool: every session read-only, under the statement time limit. A server that
        cannot be reached, a refused login or a missing database is told with the (masked)
        URL and the server's reason: at start-up, that is what the operator must fix."""
        try:
            flavour = await mysql.probe_flavour(self._plain_url)
            session = (
                mysql.read_only_session(flavour),
                mysql.session_time_limit(flavour, self._statement_timeout),
            )
            self._pool = await mysql.create_pool(self._plain_url, self._pool_size, session)
        except DRIVER_ERRORS as exc:
            reason = exc.args[-1] if exc.args else exc
            raise DatabaseUnavailable(
                f"cannot use the VICIdial database {mask_url(self.url)}: {reason}"
            ) from exc

    async def open(self) -> None:
        await self._connect()
        try:
            await self._check()
        except BaseException:
            await self.close()
            raise

    async def _check(self) -> None:
        async with self.read() as conn:
            tables = await self._existing_tables(conn)
            needed = REQUIRED_TABLES + (INBOUND_REQUIRED if self.inbound else ())
            needed += AUTH_REQUIRED if self.auth else ()
            missing = [t for t in needed if t not in tables]
            if missing:
                raise ConfigError(
                    f"not a VICIdial database, or agentcdr may not read it: missing table(s) "
                    f"{', '.join(missing)} (see the GRANTs in docs/vicidial.md)"
                )
            for table in needed:
                try:
                    await self.fetch_all(f"SELECT 1 FROM {table} LIMIT 0", (), conn)
                except DRIVER_ERRORS as exc:
                    raise ConfigError(
                        f"agentcdr may not read the VICIdial table {table}: {exc.args[-1]} "
                        "(see the GRANTs in docs/vicidial.md)"
                    ) from exc
            if self.auth:
                check_hashing(await self.fetch_all(HASHING_SQL, (), conn))
            collation = await self.fetch_all(
                "SELECT collation_name FROM information_schema.columns "
                "WHERE table_schema = DATABASE() AND table_name = 'vicidial_log' "
                "AND column_name = 'user'",
                (),
                conn,
            )
            self._users_case_insensitive = bool(
                collation and str(collation[0][0] or "").lower().endswith("_ci")
            )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await mysql.close_pool(pool)

    def pool_use(self) -> PoolUse | None:
        return mysql.pool_use(self._pool)

    async def ping(self) -> None:
        await self.fetch_all("SELECT 1")

    async def count_calls(self) -> int:
        """Rows in the live call logs (on MyISAM, VICIdial's engine, a stored count)."""
        tables = ("vicidial_log", "vicidial_closer_log") if self.inbound else ("vicidial_log",)
        total = 0
        for table in tables:
            total += int((await self.fetch_all(f"SELECT COUNT(*) FROM {table}"))[0][0])
        return total

    def writer(
        self, source: str = "", *, kind: str = "import", name: str = "", dry_run: bool = False
    ) -> NoReturn:
        raise ReadOnlyStore(
            "The VICIdial store is read-only: agentcdr never writes to a dialer's database"
        )

    # -- reports ---------------------------------------------------------------------------
    async def plan(self, request: ReportRequest, conn: Connection) -> Plan | None:
        """Tables and campaigns for a request; None when it can have no rows."""
        campaign_ids: tuple[str, ...] | None = None
        if request.tenants is not None or request.profiles or request.campaigns:
            campaign_ids = tuple(
                cid
                for cid, name, group in await self.campaigns(conn)
                if self._campaign_matches(request, name, group)
            )
            if not campaign_ids:
                return None
        types = set(request.call_types)
        wanted: list[tuple[str, str]] = []
        if not types or types & {"MANUAL", "DIALER"}:
            wanted.append(OUTBOUND_TABLES)
        if self.inbound and (not types or "INBOUND" in types):
            wanted.append(INBOUND_TABLES)
        if not wanted:
            return None
        tables = await self._existing_tables(conn)
        start = self.clock.naive(request.start_ts)
        end = self.clock.naive(request.end_ts)
        sources: list[Source] = []
        for live, archive in wanted:
            inbound = live in INBOUND_TABLES
            sources.append(Source(live, inbound))
            # An archive is read only when the range reaches before the live table's oldest
            # row and the archive holds rows in the range: a needless UNION costs a sort of
            # the whole range before the first row.
            if archive in tables and start < ((await self._span(conn, live))[0] or end):
                first, last = await self._span(conn, archive)
                reach = start - timedelta(seconds=MAX_QUEUE_SECONDS) if inbound else start
                if first is not None and last is not None and first < end and last >= reach:
                    sources.append(Source(archive, inbound, live_table=live))
        return Plan(
            sources=tuple(sources),
            campaign_ids=campaign_ids,
            clock=self.clock,
            loan_column=self.loan_column,
            agent_log_archive=AGENT_LOG_TABLES[1] in tables,
            users_case_insensitive=self._users_case_insensitive,
        )

    def _campaign_matches(self, request: ReportRequest, name: str, group: str) -> bool:
        portfolio, profile = self.tenant_of(name, group)
        if request.tenants is not None and portfolio not in request.tenants:
            return False
        if request.profiles and profile not in request.profiles:
            return False
        return not request.campaigns or name.lower() in request.campaigns

    async def summary(self, request: ReportRequest, group_by: tuple[str, ...]) -> list[SummaryRow]:
        if request.updated_since is not None:
            raise _no_change_times()
        if request.tenants == ():
            return []
        async with self.read() as conn:
            plan = await self.plan(request, conn)
            if plan is None:
                return []
            sql, params, positions = summary_sql(request, plan, group_by)
            rows = await mysql.fetch_all(conn, sql, params)
        groups = []
        for row in rows:
            keys = []
            for key, where in zip(group_by, positions, strict=True):
                values = [row[i] for i in where]
                if key in ("portfolio", "profile"):
                    portfolio, profile = self.tenant_of(str(values[0]), str(values[1]))
                    keys.append(portfolio if key == "portfolio" else profile)
                else:
                    keys.append(values[0])
            groups.append((keys, *row[-3:]))
        return finish(groups, group_by)

    async def report(self, request: ReportRequest, chunk_rows: int) -> BatchStream:
        if request.updated_since is not None:
            raise _no_change_times()
        if request.tenants == ():
            return empty_stream()
        deadline = time.monotonic() + self._statement_timeout
        rows = VicidialRows(self, await self._acquire(), request)
        return await BatchStream.open(rows, chunk_rows, deadline=deadline, read_ahead=True)

    async def rendered(
        self, request: ReportRequest, style: RowStyle, chunk_rows: int
    ) -> TextStream | None:
        # The dialer's rows take several joins and a per-campaign tenant mapping in Python
        # (``tenant_of``): they are rendered in Python, where the report's time goes to the
        # dialer's query anyway (docs/benchmarks.md).
        return None


__all__ = ["SCHEMES", "VicidialStore"]
