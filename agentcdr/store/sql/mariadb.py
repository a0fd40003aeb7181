"""agentcdr's store on MariaDB (10.3 or later; tested on 10.11) or MySQL 8, through asyncmy
(``agentcdr.store.mysql``: pool, flavour, errors).

Reports are read in keyset pages (``store.stream.KeysetPages``) inside one read-only
transaction, one consistent snapshot: asyncmy has no flow control, so streaming one big
result into a slower encoder piled the rows up in memory (1 GB for a 30-day XML report:
docs/benchmarks.md, finding 4). Imports send multi-row ``INSERT … ON DUPLICATE KEY UPDATE``
statements. Rendered reports (``rendered``) are read as a head and slices (``store.slices``),
each one query on its own connection, whose rows MariaDB renders (``store.sql.rendered``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from agentcdr.errors import DatabaseUnavailable
from agentcdr.records import COLUMNS, Cursor, ReportRequest, Row
from agentcdr.render import RowStyle, compile_text
from agentcdr.store import mysql
from agentcdr.store.base import TextBatch
from agentcdr.store.slices import Piece, SliceStream, part_limit
from agentcdr.store.sql.query import QueryHooks, report_query, summary_query
from agentcdr.store.sql.rendered import joined, last_key_query, part_query, renders, row_sql
from agentcdr.store.sql.rows import CALL_COLUMN_COUNT, CALL_COLUMNS, VALUE_COLUMNS
from agentcdr.store.sql.schema import MYSQL, migrate
from agentcdr.store.sql.server import BatchWriter, ServerStore
from agentcdr.store.stream import KeysetPages

# Strict: a value that does not fit is an error, never silently cut; and a table is InnoDB
# or nothing (MyISAM has no transactions). Notes ("table already exists" from CREATE TABLE
# IF NOT EXISTS) are not problems; the driver would log each one as a warning.
_SESSION: Final = ("sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'", "sql_notes = 0")
# GET_LOCK names are server-wide: name the lock after the database, so that agentcdr
# databases sharing a server migrate independently.
_LOCK_NAME: Final = "LEFT(CONCAT('agentcdr.migrate.', DATABASE()), 64)"
_LOCK_WAIT_SECONDS: Final = 600
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


class _MySQLRows:
    """The report on one connection, as keyset pages inside one read-only transaction (a
    ``BatchSource``)."""

    def __init__(self, pool: Any, conn: Any, request: ReportRequest, hooks: QueryHooks) -> None:
        self._pool = pool
        self._conn = conn
        self._cursor = conn.cursor()
        self._hooks = hooks
        self._pages = KeysetPages(self._page, request)
        self._started = False

    async def _page(self, request: ReportRequest) -> list[Row]:
        sql, params = report_query(request, MYSQL, self._hooks)
        await self._cursor.execute(sql, params)
        return list(await self._cursor.fetchall())

    async def fetch(self, rows: int) -> Sequence[Row]:
        try:
            if not self._started:
                self._started = True
                await self._cursor.execute("START TRANSACTION READ ONLY")
            return await self._pages.fetch(rows)
        except mysql.DRIVER_ERRORS as exc:
            raise mysql.unavailable(exc) from exc

    async def release(self, exhausted: bool) -> None:
        try:
            await self._cursor.close()
            await self._conn.rollback()  # ends the read-only transaction
        except BaseException as exc:
            # Cancelled or failed halfway through: the connection's state is unknown.
            self._conn.close()
            if not isinstance(exc, mysql.DRIVER_ERRORS):
                raise
        finally:
            # Not awaited: Pool.release does its work at once, so a cancellation cannot
            # come between the report and giving its connection back.
            self._pool.release(self._conn)


class _MySQLText:
    """Reads parts of a rendered report, each inside a read-only transaction (one snapshot,
    should a text fail its check and be rendered again from the same rows in Python)."""

    def __init__(self, store: MySQLStore, style: RowStyle) -> None:
        self._store = store
        self._style = style

    async def read(self, part: ReportRequest) -> Piece:
        style, store, hooks = self._style, self._store, self._store._hooks
        row = row_sql(style, MYSQL.name, part.start_ts, part.end_ts)
        pool = store._live_pool()
        conn = await store._acquire()
        last = None
        try:
            async with conn.cursor() as cursor:
                await cursor.execute("START TRANSACTION READ ONLY")
                await cursor.execute(*part_query(part, row, MYSQL, hooks))
                rows = await cursor.fetchall()
                text: str | bytes | None = joined(style, row, [r[0] for r in rows])
                if text is None:
                    await cursor.execute(*report_query(part, MYSQL, hooks))
                    text = compile_text(style)(await cursor.fetchall())
                if len(rows) == part_limit(part):
                    await cursor.execute(*last_key_query(part, MYSQL, hooks))
                    last = Cursor(*(await cursor.fetchone()))
                await conn.rollback()
        except mysql.DRIVER_ERRORS as exc:
            mysql.discard(pool, conn)
            raise mysql.unavailable(exc) from exc
        except BaseException:
            mysql.discard(pool, conn)  # cancelled halfway: the connection's state is unknown
            raise
        pool.release(conn)
        return Piece(TextBatch(text, len(rows)), last)


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
    connection_errors = mysql.CONNECTION_ERRORS
    duplicate_errors = mysql.DUPLICATE_ERRORS

    def __init__(self, url: str, statement_timeout: float = 600.0) -> None:
        super().__init__(url, statement_timeout)
        self._hooks = QueryHooks()

    async def _connect(self) -> None:
        # With a statement cache asyncmy sends a batch of rows to MariaDB in one binary
        # COM_STMT_BULK_EXECUTE instead of escaped text: imports ran 1.7x faster.
        self._pool = await mysql.create_pool(
            self.url, self.server.pool_size, _SESSION, stmt_cache_size=32
        )
        async with self._pool.acquire() as conn:
            flavour = mysql.flavour_of(conn)
        self._hooks = report_hooks(flavour, self.statement_timeout)

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
            await mysql.close_pool(pool)

    async def fetch_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.connection() as conn, conn.cursor() as cursor:
            await cursor.execute(sql, tuple(params) or None)
            return list(await cursor.fetchall())

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self.connection() as conn, conn.cursor() as cursor:
            return int(await cursor.execute(sql, tuple(params) or None))

    def _rows(self, conn: Any, request: ReportRequest) -> _MySQLRows:
        return _MySQLRows(self._live_pool(), conn, request, self._hooks)

    async def rendered(
        self, request: ReportRequest, style: RowStyle, chunk_rows: int
    ) -> SliceStream | None:
        if not renders(request):
            return None
        return await SliceStream.open(request, _MySQLText(self, style).read, chunk_rows)

    async def _summary(self, request: ReportRequest, group_by: tuple[str, ...]) -> list[Any]:
        sql, params = summary_query(request, group_by, MYSQL, self._hooks)
        async with self.connection() as conn:
            try:
                return await mysql.fetch_all(conn, sql, params)
            except mysql.DRIVER_ERRORS as exc:
                raise mysql.unavailable(exc) from exc

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
        return mysql.refuses_writes(exc)

    async def _discard(self, conn: Any) -> None:
        mysql.discard(self._live_pool(), conn)


def report_hooks(flavour: mysql.Flavour, statement_timeout: float) -> QueryHooks:
    """The report query's index choice and time limit on this server (from constants and
    settings, never from request values)."""
    prefix, hint = mysql.statement_time_limit(flavour, statement_timeout)
    return QueryHooks(prefix, hint, _REPORT_INDEXES, _REPORT_INDEXES + ", calls_updated")
