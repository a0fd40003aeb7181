"""The skeleton of agentcdr's stores on a database server (PostgreSQL, MariaDB/MySQL).

The two differ in their drivers, not in their logic: each supplies a few driver hooks and
inherits the rest from ``ServerStore`` here (pool life cycle, migrations under a lock,
streamed reports, import transactions and their counts, API users), so both behave as the
SQLite reference store does by construction.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any, ClassVar, Final

from agentcdr.errors import DatabaseUnavailable, ReadOnlyStore
from agentcdr.records import CallRecord, ReportRequest
from agentcdr.render import RowStyle
from agentcdr.settings import mask_url
from agentcdr.store.base import CallWriter, LoginSource, TextStream, WriteCounts, WriteRow
from agentcdr.store.sql.imports import SQLImports
from agentcdr.store.sql.rows import Merged, import_sql, unique_batches, write_row
from agentcdr.store.sql.schema import LATEST, Dialect, newer_schema
from agentcdr.store.sql.urls import ServerURL, parse_server_url
from agentcdr.store.sql.users import SQLUsers
from agentcdr.store.stream import BatchSource, BatchStream
from agentcdr.summary import SummaryRow, finish


class BatchWriter(ABC):
    """One import transaction of a server store: counts like the SQLite writer.

    A subclass upserts one duplicate-free batch and says how many of its rows were
    inserted and how many were inserted or changed; counts are published on commit. In a
    first load (``loading``: the table was empty, and the store dropped its indexes, the
    unique key included, keeping other writers out) rows are inserted as they come instead,
    and ``build_indexes`` merges a call the file held more than once (``repeated``).
    """

    batch_rows: ClassVar[int] = 1000

    def __init__(self, source: str) -> None:
        self._source = source
        self._import_id = 0
        self._running = WriteCounts()
        self._counts = WriteCounts()
        self.loading = False

    @abstractmethod
    async def _upsert(self, batch: list[WriteRow], now: int) -> tuple[int, int]:
        """Upsert the rows; return (inserted, inserted or changed)."""

    async def _insert_new(self, batch: list[WriteRow], now: int) -> None:
        """Insert the rows as new (a first load's, into a table without a unique key)."""
        raise NotImplementedError

    async def build_indexes(self) -> None:  # noqa: B027 - optional hook
        """Builds, inside the transaction, the indexes a first load dropped."""

    @abstractmethod
    async def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT of one row inside the transaction; return the row's id."""

    @abstractmethod
    async def _run(self, sql: str, params: Sequence[Any]) -> None:
        """Run one statement inside the transaction."""

    async def start(self, dialect: Dialect, kind: str, name: str) -> None:
        """Opens the transaction's entry in ``imports``."""
        opening, _ = import_sql(dialect.placeholders(4))
        self._import_id = await self._insert_id(
            opening, (kind, name, self._source, int(time.time()))
        )

    async def close_entry(self, dialect: Dialect) -> None:
        """Writes the counts into the transaction's entry, before its commit."""
        _, closing = import_sql(dialect.placeholders(4))
        await self._run(closing, (*self._running, self._import_id))

    @property
    def import_id(self) -> int:
        return self._import_id

    async def write(self, records: Sequence[CallRecord]) -> None:
        source = self._source
        await self.write_rows([write_row(r, source) for r in records])

    async def write_rows(self, rows: Sequence[WriteRow]) -> None:
        now = int(time.time())
        if self.loading:
            for start in range(0, len(rows), self.batch_rows):
                await self._insert_new(list(rows[start : start + self.batch_rows]), now)
            self._running.inserted += len(rows)
            return
        for batch in unique_batches(rows, self.batch_rows):
            inserted, changed = await self._upsert(batch, now)
            self._running.inserted += inserted
            self._running.updated += changed - inserted
            self._running.unchanged += len(batch) - changed

    def repeated(self, merged: Merged) -> None:
        """Counts a first load's repeats of calls (each written as new) as the upserts would
        have."""
        self._running.inserted -= merged.updated + merged.unchanged
        self._running.updated += merged.updated
        self._running.unchanged += merged.unchanged

    def finish(self) -> None:
        self._counts = self._running

    @property
    def counts(self) -> WriteCounts:
        return self._counts


NO_CONNECTION: Final = "No database connection is free; try again later"

# Where information_schema finds the store's own tables.
_CURRENT_SCHEMA: Final = {"postgresql": "current_schema()", "mysql": "DATABASE()"}


class ServerStore(ABC):
    """A call store on a database server; the driver modules fill in the hooks."""

    read_only = False
    logins: LoginSource | None = None
    dialect: ClassVar[Dialect]
    # Driver exceptions meaning the server cannot be reached or the connection was lost.
    connection_errors: ClassVar[tuple[type[BaseException], ...]]
    # Any error of the driver (a failed statement included).
    driver_errors: ClassVar[tuple[type[BaseException], ...]]
    # Driver exceptions of a duplicate unique key.
    duplicate_errors: ClassVar[tuple[type[BaseException], ...]]

    def __init__(
        self, url: str, statement_timeout: float = 600.0, pool_timeout: float = 5.0
    ) -> None:
        self.url = url
        self.server: ServerURL = parse_server_url(url)
        self.statement_timeout = statement_timeout
        self.pool_timeout = pool_timeout
        self.users = SQLUsers(self)
        self.imports = SQLImports(self)
        self._pool: Any = None
        # /healthz's own connection, outside the pool: reports holding every pooled
        # connection (slow clients) must not make the server look down.
        self._health: Any = None
        self._health_lock = asyncio.Lock()

    # -- driver hooks ----------------------------------------------------------------------
    @abstractmethod
    async def _connect(self) -> None:
        """Create ``self._pool`` (raising a connection error if the server is down)."""

    @abstractmethod
    async def _migrate(self) -> None:
        """Apply ``migrate`` on one connection under a server-wide lock."""

    async def _repair(self) -> None:  # noqa: B027 - optional hook
        """Put right, on opening, what an import that died half-way left behind."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def fetch_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of a small query (never a report)."""

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; return the affected row count."""

    @abstractmethod
    def _rows(self, conn: Any, request: ReportRequest) -> BatchSource:
        """The report's rows on ``conn``: the query runs at the first fetch, and releasing
        gives ``conn`` back in every case."""

    @abstractmethod
    async def _summary(self, request: ReportRequest, group_by: tuple[str, ...]) -> list[Any]:
        """The rows of the summary query (keys, calls, total, longest), under the statement
        time limit; raises ``DatabaseUnavailable`` when the database fails."""

    @abstractmethod
    async def _begin(self, conn: Any, source: str, first_load: bool) -> BatchWriter:
        """Open the import transaction on ``conn``. With ``first_load``, when the table is
        empty (checked under a lock that keeps other writers out until the end), make it a
        first load: drop the indexes, for the writer to build at the end."""

    @abstractmethod
    async def _end(self, writer: BatchWriter, commit: bool) -> None:
        """Commit or roll back the writer's transaction, and give its connection back."""

    @staticmethod
    @abstractmethod
    def refuses_writes(exc: BaseException) -> bool:
        """Whether a driver error means that this database takes no writes from us."""

    @abstractmethod
    async def _discard(self, conn: Any) -> None:
        """Give back a connection in an unknown state (the pool must not reuse it as is)."""

    @abstractmethod
    async def _connect_one(self) -> Any:
        """A connection of its own, outside the pool (for ``ping``)."""

    @abstractmethod
    async def _ping_on(self, conn: Any) -> None:
        """Read ``schema_migrations`` on ``conn``."""

    @abstractmethod
    async def _close_one(self, conn: Any) -> None: ...

    # -- shared behaviour ------------------------------------------------------------------
    def _live_pool(self) -> Any:
        if self._pool is None:
            raise DatabaseUnavailable("The database store is not open")
        return self._pool

    @contextmanager
    def reachable(self) -> Iterator[None]:
        """Turns the driver's connection errors inside into ``DatabaseUnavailable``."""
        try:
            yield
        except self.connection_errors as exc:
            if self.refuses_writes(exc):
                raise  # for ``writable`` (MySQL files both under OperationalError)
            raise DatabaseUnavailable() from exc

    @contextmanager
    def writable(self) -> Iterator[None]:
        """Turns the driver's "no writes here" errors inside into ``ReadOnlyStore``."""
        try:
            yield
        except Exception as exc:
            if self.refuses_writes(exc):
                raise ReadOnlyStore(
                    f"the database takes no writes from agentcdr ({exc}): a read replica, or "
                    "a user without write grants? Write to the primary"
                ) from exc
            raise

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A pooled connection for one of our own short statements."""
        conn = await self._acquire()
        try:
            with self.reachable():
                yield conn
        except BaseException:
            # A statement that failed may leave the connection in any state (a session the
            # server killed, a protocol mid-operation): it is not reused.
            await self._discard(conn)
            raise
        await self._live_pool().release(conn)

    async def _acquire(self) -> Any:
        """A pooled connection, or ``DatabaseUnavailable`` when none is free within
        ``pool_timeout`` seconds (a quick 503 rather than a queue without end)."""
        with self.reachable():
            try:
                async with asyncio.timeout(self.pool_timeout):
                    return await self._live_pool().acquire()
            except TimeoutError:
                raise DatabaseUnavailable(NO_CONNECTION) from None

    async def open(self) -> None:
        try:
            await self._connect()
            # Up to date is the usual case, and then nothing is locked or written: a read
            # replica (read-only) opens too, and many workers start without queueing.
            version = await self._schema_version()
            if version is not None and version > LATEST:
                raise newer_schema(version)
            if version != LATEST:
                await self._migrate()
            await self._repair()
        except self.connection_errors as exc:
            await self.close()
            raise DatabaseUnavailable(
                f"cannot use the database {mask_url(self.url)}: {exc}"
            ) from exc
        except BaseException:
            await self.close()
            raise

    async def _schema_version(self) -> int | None:
        """The applied schema version; None before the first migration."""
        here = _CURRENT_SCHEMA[self.dialect.name]
        found = await self.fetch_rows(
            "SELECT COUNT(*) FROM information_schema.tables "
            f"WHERE table_schema = {here} AND table_name = 'schema_migrations'"
        )
        if not found[0][0]:
            return None
        rows = await self.fetch_rows("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        return int(rows[0][0])

    async def ping(self) -> None:
        """One read on the health connection (made again after a failure), within
        ``pool_timeout``: never waits for the report pool."""
        failures: tuple[type[BaseException], ...] = (
            TimeoutError,
            *self.connection_errors,
            *self.driver_errors,
        )
        try:
            async with asyncio.timeout(self.pool_timeout), self._health_lock:
                for fresh in (self._health is None, True):
                    if fresh:
                        await self._drop_health()
                        self._health = await self._connect_one()
                    try:
                        await self._ping_on(self._health)
                        return
                    except failures:
                        # A connection the server dropped (a restart, a killed session) is
                        # no outage: one more try on a new one decides.
                        if fresh:
                            raise
        except failures as exc:
            await self._drop_health()
            raise DatabaseUnavailable() from exc

    async def _drop_health(self) -> None:
        conn, self._health = self._health, None
        if conn is not None:
            with suppress(Exception):
                await self._close_one(conn)

    async def count_calls(self) -> int:
        return int((await self.fetch_rows("SELECT COUNT(*) FROM calls"))[0][0])

    async def report(self, request: ReportRequest, chunk_rows: int) -> BatchStream:
        deadline = time.monotonic() + self.statement_timeout
        rows = self._rows(await self._acquire(), request)
        return await BatchStream.open(rows, chunk_rows, deadline=deadline, read_ahead=True)

    async def rendered(
        self, request: ReportRequest, style: RowStyle, chunk_rows: int
    ) -> TextStream | None:
        return None

    async def summary(self, request: ReportRequest, group_by: tuple[str, ...]) -> list[SummaryRow]:
        if request.tenants == ():
            return []
        rows = await self._summary(request, group_by)
        return finish(((r[:-3], *r[-3:]) for r in rows), group_by)

    @asynccontextmanager
    async def writer(
        self, source: str = "", *, kind: str = "import", name: str = "", dry_run: bool = False
    ) -> AsyncIterator[CallWriter]:
        conn = await self._acquire()
        try:
            with self.reachable(), self.writable():
                batch_writer = await self._begin(conn, source, first_load=not dry_run)
        except BaseException:
            await self._discard(conn)
            raise
        try:
            with self.writable():
                await batch_writer.start(self.dialect, kind, name)
                yield batch_writer
                await batch_writer.build_indexes()
                await batch_writer.close_entry(self.dialect)
        except BaseException:
            # The body's exception is the one to report, not a failed rollback's.
            with suppress(DatabaseUnavailable, *self.connection_errors):
                await self._end(batch_writer, commit=False)
            raise
        with self.reachable():
            await self._end(batch_writer, commit=not dry_run)
        batch_writer.finish()
