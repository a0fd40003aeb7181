"""agentcdr's store on MariaDB (10.3 or later; tested on 10.11) or MySQL 8, through asyncmy.

Reports are read in keyset pages of ``PAGE_ROWS`` rows inside one read-only transaction
(one consistent snapshot), each page read whole: asyncmy reads a streamed result off the
socket as fast as the server sends it, with no flow control, so streaming one big result
into a slower encoder piled the rows up in memory (1 GB for a 30-day XML report:
docs/benchmarks.md, finding 4).
A page ends where the next begins (answer time and id, as the API's own cursors), so pages
lose and repeat nothing. Imports send multi-row ``INSERT … ON DUPLICATE KEY UPDATE``
statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

import asyncmy
from asyncmy.errors import IntegrityError, InterfaceError, MySQLError, OperationalError

from agentcdr.errors import DatabaseUnavailable
from agentcdr.records import COL, COLUMNS, Cursor, ReportRequest, Row
from agentcdr.store.sql.query import report_query
from agentcdr.store.sql.rows import (
    CALL_COLUMN_COUNT,
    CALL_COLUMNS,
    TIME_LIMIT,
    UNREADABLE,
    VALUE_COLUMNS,
)
from agentcdr.store.sql.schema import MYSQL, migrate
from agentcdr.store.sql.server import BatchRowStream, BatchWriter, ServerStore
from agentcdr.store.urls import mysql_connect_kwargs

# Strict: a value that does not fit is an error, never silently cut; and a table is InnoDB
# or nothing (MyISAM has no transactions).
_SQL_MODE: Final = "STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION"
# Notes ("table already exists" from CREATE TABLE IF NOT EXISTS) are not problems; the driver
# would log each one as a warning.
_SESSION: Final = f"SET SESSION sql_mode = '{_SQL_MODE}', sql_notes = 0"
# GET_LOCK names are server-wide: name the lock after the database, so that agentcdr
# databases sharing a server migrate independently.
_LOCK_NAME: Final = "LEFT(CONCAT('agentcdr.migrate.', DATABASE()), 64)"
_LOCK_WAIT_SECONDS: Final = 600
# Server errors of a statement stopped by max_statement_time (MariaDB) or
# MAX_EXECUTION_TIME (MySQL).
_TIME_LIMIT_ERRORS: Final = frozenset({1969, 3024})

# Server errors of a database that takes no writes: --read-only (1290), read_only mode (1836),
# a command the user has no grant for (1142).
_REFUSALS: Final = frozenset({1290, 1836, 1142})

_INTEGER_COLUMNS: Final = frozenset(c.store for c in COLUMNS if c.integer)
# Where VALUE_COLUMNS stand in a row of CALL_COLUMNS.
_VALUES: Final = slice(2, 2 + len(VALUE_COLUMNS))

# MariaDB plans a wide date range (a 30-day report on 2M calls) as a full table scan plus a
# filesort: the first row comes only after every row has been read and sorted (2 s there,
# against 0.01 s on calls_answer, for the same total time). Forcing the choice among the
# report's own indexes rules out the table scan and nothing else, so a selective filter still
# gets its index (one tenant: calls_portfolio; users: calls_agent). calls_updated joins only
# for incremental syncs, where a recent updatedSince makes it the best one.
# Measured plans: docs/deploying.md, "Query plans".
_REPORT_INDEXES: Final = "calls_answer, calls_portfolio, calls_agent, calls_profile"
_FROM: Final = "FROM calls "
PAGE_ROWS: Final = 10_000


def _same(column: str) -> str:
    # Compare text as bytes: utf8mb4_bin pads with spaces, so "a" = "a " would otherwise
    # hide a real change from updated_at.
    if column in _INTEGER_COLUMNS:
        return f"{column} <=> VALUES({column})"
    return f"CAST({column} AS BINARY) <=> CAST(VALUES({column}) AS BINARY)"


# updated_at is assigned first: MySQL applies the assignments left to right, so the columns
# it compares still hold their old values.
UPSERT: Final = (
    f"INSERT INTO calls ({CALL_COLUMNS}) VALUES ({', '.join(['%s'] * CALL_COLUMN_COUNT)}) "
    "ON DUPLICATE KEY UPDATE updated_at = IF("
    + " AND ".join(_same(c) for c in VALUE_COLUMNS)
    + ", updated_at, VALUES(updated_at)), "
    + ", ".join(f"{c} = VALUES({c})" for c in VALUE_COLUMNS)
)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OperationalError) and exc.args and exc.args[0] in _TIME_LIMIT_ERRORS:
        return TIME_LIMIT
    return UNREADABLE


class MySQLRowStream(BatchRowStream):
    """A report read page by page (see the module's docstring)."""

    def paging(self, store: MySQLStore, request: ReportRequest) -> None:
        self._store = store
        self._request = request
        self._buffer: list[Row] = []
        self._last: Row = ()
        self._pages_done = False
        # With a limit the report needs limit + 1 rows (the extra one says "more remain").
        self._wanted = None if request.limit is None else request.limit + 1
        self._read = 0

    async def page(self) -> list[Row]:
        """The next page of the report, or [] after the last one."""
        size = PAGE_ROWS if self._wanted is None else min(PAGE_ROWS, self._wanted - self._read)
        if size <= 0:
            self._pages_done = True
        if self._pages_done:
            return []
        request = self._request
        if self._read:
            last = self._last
            request = replace(request, cursor=Cursor(last[COL["answer_ts"]], last[COL["id"]]))
        sql, params = report_query(replace(request, limit=size - 1), MYSQL)
        sql = self._store.report_sql(sql, updated_since=request.updated_since is not None)
        try:
            await self._cursor.execute(sql, params)
            rows: list[Row] = list(await self._cursor.fetchall())
        except (MySQLError, OSError) as exc:
            raise DatabaseUnavailable(_describe(exc)) from exc
        self._read += len(rows)
        self._pages_done = len(rows) < size
        if rows:
            self._last = rows[-1]
        return rows

    async def prefetch(self) -> None:
        """Reads the first batch, so that a failing query fails before the response starts."""
        self._first = await self._fetch(self._chunk_rows)
        self._done = len(self._first) < self._chunk_rows

    async def _fetch(self, rows: int) -> Sequence[Row]:
        while len(self._buffer) < rows and not self._pages_done:
            self._buffer.extend(await self.page())
        batch, self._buffer = self._buffer[:rows], self._buffer[rows:]
        return batch

    async def _release(self, exhausted: bool) -> None:
        try:
            await self._cursor.close()
            await self._conn.rollback()  # ends the read-only transaction
        except BaseException as exc:
            # Cancelled or failed halfway through: the connection's state is unknown.
            self._conn.close()
            if not isinstance(exc, MySQLError | OSError):
                raise
        finally:
            # Not awaited: Pool.release does its work at once, so a cancellation cannot
            # come between the report and giving its connection back.
            self._owner.release(self._conn)


class _MySQLWriter(BatchWriter):
    def __init__(self, conn: Any, cursor: Any, source: str) -> None:
        super().__init__(source)
        self.conn = conn
        self._cursor = cursor

    async def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        await self._cursor.execute(sql, tuple(params))
        return int(self._cursor.lastrowid)

    async def _run(self, sql: str, params: Sequence[Any]) -> None:
        await self._cursor.execute(sql, tuple(params))

    async def _stored(self, batch: list[tuple[Any, ...]]) -> dict[tuple[Any, Any], tuple[Any, ...]]:
        """The stored values of the batch's calls that exist, locked until the commit."""
        by_source: dict[str, list[str]] = {}
        for row in batch:
            by_source.setdefault(row[0], []).append(row[1])
        stored: dict[tuple[Any, Any], tuple[Any, ...]] = {}
        for source, call_ids in by_source.items():
            marks = ", ".join(["%s"] * len(call_ids))
            await self._cursor.execute(
                f"SELECT source, call_id, {', '.join(VALUE_COLUMNS)} FROM calls "
                f"WHERE source = %s AND call_id IN ({marks}) FOR UPDATE",
                (source, *call_ids),
            )
            for row in await self._cursor.fetchall():
                stored[row[0], row[1]] = tuple(row[2:])
        return stored

    async def _upsert(self, batch: list[tuple[Any, ...]]) -> tuple[int, int]:
        # InnoDB runs an upsert of an existing key as an insert, undone when the unique key
        # clashes, and then an update: several times the work of reading the row. So the
        # stored values are read first (and locked, so that they stay what was compared),
        # and only new and changed calls are sent; the upsert still covers a key that
        # another importer inserted meanwhile.
        stored = await self._stored(batch)
        inserted = changed = 0
        send: list[tuple[Any, ...]] = []
        for row in batch:
            old = stored.get((row[0], row[1]))
            if old is None:
                inserted += 1
            elif old != row[_VALUES]:
                changed += 1
            else:
                continue
            send.append(row)
        if send:
            await self._cursor.executemany(UPSERT, send)
        return inserted, inserted + changed


class _MigrationSession:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    async def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._cursor.execute(sql, tuple(params) or None)

    async def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._cursor.executemany(sql, [tuple(r) for r in rows])

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        await self._cursor.execute(sql, tuple(params) or None)
        return list(await self._cursor.fetchall())


class MySQLStore(ServerStore):
    dialect = MYSQL
    connection_errors = (OSError, OperationalError, InterfaceError)
    duplicate_errors = (IntegrityError,)

    def __init__(self, url: str, statement_timeout: float = 600.0) -> None:
        super().__init__(url, statement_timeout)
        self._mariadb = True

    async def _connect(self) -> None:
        self._pool = await asyncmy.create_pool(
            minsize=1,
            maxsize=self.server.pool_size,
            # Below the servers' default wait_timeout of 8 hours.
            pool_recycle=3600,
            # Every statement commits on its own; the writer opens its transaction itself.
            # (The pool also drops any connection returned inside a transaction.)
            autocommit=True,
            init_command=_SESSION,
            # With a statement cache asyncmy sends a batch of rows to MariaDB in one binary
            # COM_STMT_BULK_EXECUTE instead of escaped text: imports ran 1.7x faster.
            stmt_cache_size=32,
            **mysql_connect_kwargs(self.url),
        )
        async with self._pool.acquire() as conn:
            self._mariadb = "mariadb" in conn.get_server_info().lower()

    async def _migrate(self) -> None:
        # MySQL commits around every DDL statement, so a transaction cannot hold the lock:
        # a named lock held by this connection does, until released or disconnected.
        async with self._live_pool().acquire() as conn, conn.cursor() as cursor:
            await cursor.execute(f"SELECT GET_LOCK({_LOCK_NAME}, {_LOCK_WAIT_SECONDS})")
            if (await cursor.fetchone())[0] != 1:
                raise DatabaseUnavailable("timed out waiting for another agentcdr to migrate")
            try:
                await migrate(_MigrationSession(cursor), MYSQL)
            finally:
                await cursor.execute(f"SELECT RELEASE_LOCK({_LOCK_NAME})")
                await cursor.fetchall()

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
            await pool.wait_closed()

    async def fetch_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.connection() as conn, conn.cursor() as cursor:
            await cursor.execute(sql, tuple(params) or None)
            return list(await cursor.fetchall())

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self.connection() as conn, conn.cursor() as cursor:
            return int(await cursor.execute(sql, tuple(params) or None))

    def report_sql(self, sql: str, updated_since: bool) -> str:
        """The report SQL with its index hint and under the statement time limit.

        Both come from constants and settings, never from request values.
        """
        if sql.count(_FROM) != 1:
            raise AssertionError(f"cannot place the index hint in: {sql}")
        indexes = _REPORT_INDEXES + (", calls_updated" if updated_since else "")
        sql = sql.replace(_FROM, f"FROM calls FORCE INDEX ({indexes}) ")
        if self._mariadb:
            return f"SET STATEMENT max_statement_time = {self.statement_timeout:g} FOR {sql}"
        hint = f"/*+ MAX_EXECUTION_TIME({max(1, int(self.statement_timeout * 1000))}) */"
        return sql.replace("SELECT ", f"SELECT {hint} ", 1)

    async def _stream(
        self, conn: Any, request: ReportRequest, chunk_rows: int, deadline: float
    ) -> MySQLRowStream:
        cursor = conn.cursor()
        stream = MySQLRowStream(self._pool, conn, cursor, chunk_rows, deadline, [])
        stream.paging(self, request)
        try:
            await cursor.execute("START TRANSACTION READ ONLY")
            await stream.prefetch()
        except BaseException as exc:
            await self._discard(conn)
            if isinstance(exc, MySQLError | OSError):
                raise DatabaseUnavailable(_describe(exc)) from exc
            raise
        return stream

    async def _begin(self, conn: Any, source: str) -> BatchWriter:
        cursor = conn.cursor()
        # Read committed: the writer's "does this key exist" counts see what other importers
        # have committed meanwhile, as its upserts do.
        await cursor.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        await conn.begin()
        return _MySQLWriter(conn, cursor, source)

    async def _end(self, writer: BatchWriter, commit: bool) -> None:
        assert isinstance(writer, _MySQLWriter)
        try:
            if commit:
                await writer.conn.commit()
            else:
                await writer.conn.rollback()
        finally:
            # A connection still inside a transaction (a failed commit) is dropped by the pool.
            await self._live_pool().release(writer.conn)

    @staticmethod
    def refuses_writes(exc: BaseException) -> bool:
        return isinstance(exc, MySQLError) and bool(exc.args) and exc.args[0] in _REFUSALS

    async def _discard(self, conn: Any) -> None:
        conn.close()
        await self._live_pool().release(conn)
