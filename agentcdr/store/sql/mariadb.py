"""agentcdr's store on MariaDB (10.3 or later; tested on 10.11) or MySQL 8, through asyncmy
(``agentcdr.store.mysql``: pool, flavour, errors).

Reports are read in keyset pages (``store.stream.KeysetPages``) inside one read-only
transaction, one consistent snapshot: asyncmy has no flow control, so streaming one big
result into a slower encoder piled the rows up in memory (1 GB for a 30-day XML report:
docs/benchmarks.md, finding 4). Imports send multi-row ``INSERT … ON DUPLICATE KEY UPDATE``
statements.

A first load into an empty table builds the indexes once the rows are in. MySQL commits
around every DDL statement, so this cannot hide inside the import's transaction as on the
other databases: under the migration lock, the load holds ``LOCK TABLES … WRITE`` from the
moment it finds the table empty until the indexes are back (other sessions wait, rather than
read a table without the indexes the reports name), drops the indexes, the unique key too,
writes the rows in its transaction (merging, before the commit, a call the file held more
than once), and then, committed or rolled back, builds them again. Should the process die in
between, the next store to open builds what is missing (``_repair``).

Rendered reports (``rendered``) are read as a head and slices (``store.slices``),
each one query on its own connection, whose rows MariaDB renders (``store.sql.rendered``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from agentcdr.errors import DatabaseUnavailable
from agentcdr.records import COLUMNS, Cursor, ReportRequest, Row
from agentcdr.render import RowStyle, TextBatch, compile_text
from agentcdr.store import mysql
from agentcdr.store.base import PoolUse, WriteRow
from agentcdr.store.slices import Piece, SliceStream, part_limit
from agentcdr.store.sql.rendered import RowTexts, joined, last_key_query, part_query, renders
from agentcdr.store.sql.report_query import QueryHooks, report_query, summary_query
from agentcdr.store.sql.rows import (
    CALL_COLUMNS,
    REPEATED,
    VALUE_COLUMNS,
    WRITE_COLUMNS,
    merge_repeats,
    merge_sql,
    stamps,
)
from agentcdr.store.sql.schema import CALL_INDEXES, MYSQL, migrate
from agentcdr.store.sql.server_store import BatchWriter, ServerStore
from agentcdr.store.stream import KeysetPages

# Strict: a value that does not fit is an error, never silently cut; and a table is InnoDB
# or nothing (MyISAM has no transactions). Notes ("table already exists" from CREATE TABLE
# IF NOT EXISTS) are not problems; the driver would log each one as a warning.
_SESSION: Final = ("sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'", "sql_notes = 0")
# GET_LOCK names are server-wide: name the lock after the database, so that agentcdr
# databases sharing a server migrate independently.
_LOCK_NAME: Final = "LEFT(CONCAT('agentcdr.migrate.', DATABASE()), 64)"
_LOCK_WAIT_SECONDS: Final = 600
_LOCK_WAIT_TIMEOUT: Final = 1205  # the server's error number
# The indexes of calls but the primary key, as ALTER TABLE … ADD takes them. The unique key
# is named after its first column (MySQL's choice in migration 1).
_UNIQUE_KEY: Final = "source"
_INDEXES: Final = {
    _UNIQUE_KEY: f"UNIQUE INDEX {_UNIQUE_KEY} (source, call_id)",
    **{name: f"INDEX {name} ({columns})" for name, columns in CALL_INDEXES.items()},
}
# Whether a first load's file held a call twice (no index: one sort of the keys; without
# SQL_BIG_RESULT, MariaDB groups 2M keys in a temporary table, 8x slower here).
_ANY_REPEATED: Final = (
    "SELECT SQL_BIG_RESULT 1 FROM calls GROUP BY source, call_id HAVING COUNT(*) > 1 LIMIT 1"
)
# Seconds a first load waits to lock the empty table (readers of an empty table finish at
# once; anything longer is a stuck session, and the import goes the usual way).
_TABLE_LOCK_WAIT: Final = 5
_INTEGER_COLUMNS: Final = frozenset(c.store for c in COLUMNS if c.integer)
# Where VALUE_COLUMNS stand in a row of WRITE_COLUMNS.
_VALUES: Final = slice(
    WRITE_COLUMNS.index(VALUE_COLUMNS[0]), WRITE_COLUMNS.index(VALUE_COLUMNS[-1]) + 1
)

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


def insert_sql(now: int, import_id: int) -> str:
    """The insert of one call (``WRITE_COLUMNS`` bound, the stamps as literals)."""
    marks = ", ".join(["%s"] * len(WRITE_COLUMNS))
    return f"INSERT INTO calls ({CALL_COLUMNS}) VALUES ({marks}, {stamps(now, import_id)})"


# updated_at is assigned first: MySQL applies the assignments left to right, so the columns
# it compares still hold their old values.
_ON_DUPLICATE: Final = (
    " ON DUPLICATE KEY UPDATE updated_at = IF("
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
    should a text fail its check and be read again, escaped in SQL or rendered in Python
    from the same rows)."""

    def __init__(self, store: MySQLStore, style: RowStyle) -> None:
        self._store = store
        self._texts = RowTexts(style, MYSQL.name)

    async def read(self, part: ReportRequest) -> Piece:
        texts, store, hooks = self._texts, self._store, self._store._hooks
        row = texts.row(part)
        pool = store._live_pool()
        conn = await store._acquire()
        last = None
        try:
            async with conn.cursor() as cursor:
                await cursor.execute("START TRANSACTION READ ONLY")
                await cursor.execute(*part_query(part, row, MYSQL, hooks))
                rows = await cursor.fetchall()
                text: str | bytes | None = joined(texts.style, row, [r[0] for r in rows])
                if text is None and (again := texts.escaped(part, row)) is not None:
                    await cursor.execute(*part_query(part, again, MYSQL, hooks))
                    rows = await cursor.fetchall()
                    text = joined(texts.style, again, [r[0] for r in rows])
                if text is None:
                    await cursor.execute(*report_query(part, MYSQL, hooks))
                    text = compile_text(texts.style)(await cursor.fetchall())
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
        assert text is not None
        return Piece(TextBatch(text, len(rows)), last)


class _MySQLWriter(BatchWriter):
    # Rows per statement (one COM_STMT_BULK_EXECUTE on MariaDB): large, to spread the fixed
    # costs of a statement and of the look-up of the stored calls.
    batch_rows = 10_000

    def __init__(self, conn: Any, cursor: Any, source: str) -> None:
        super().__init__(source)
        self.conn = conn
        self._cursor = cursor
        self._now = 0
        self._insert = self._upsert_sql = ""
        self.table_locked = False  # a first load: LOCK TABLES, the indexes dropped

    def _statements(self, now: int) -> tuple[str, str]:
        if now != self._now:  # the statements change once a second at most
            self._now = now
            self._insert = insert_sql(now, self._import_id)
            self._upsert_sql = self._insert + _ON_DUPLICATE
        return self._insert, self._upsert_sql

    async def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        await self._cursor.execute(sql, tuple(params))
        return int(self._cursor.lastrowid)

    async def _run(self, sql: str, params: Sequence[Any]) -> None:
        await self._cursor.execute(sql, tuple(params))

    async def _stored(self, batch: list[WriteRow]) -> dict[tuple[Any, Any], tuple[Any, ...]]:
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

    async def _insert_new(self, batch: list[WriteRow], now: int) -> None:
        # Only in a first load, when the table has no unique key: nothing can clash.
        await self._cursor.executemany(self._statements(now)[0], batch)

    async def build_indexes(self) -> None:
        """Before a first load commits (the indexes themselves come after: MySQL commits
        around ALTER TABLE), a call the file held more than once, which would stop the
        unique key's build, is merged as the upserts would have."""
        if not self.table_locked:
            return
        await self._cursor.execute(_ANY_REPEATED)
        if not await self._cursor.fetchall():
            return
        await self._cursor.execute(REPEATED)
        merged = merge_repeats(list(await self._cursor.fetchall()))
        update, delete = merge_sql(["%s"] * (len(VALUE_COLUMNS) + 2))
        await self._cursor.executemany(update, merged.updates)
        await self._cursor.executemany(delete, merged.deletes)
        self.repeated(merged)

    async def _upsert(self, batch: list[WriteRow], now: int) -> tuple[int, int]:
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
            await self._cursor.executemany(self._statements(now)[1], send)
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
    driver_errors = mysql.DRIVER_ERRORS

    def __init__(
        self, url: str, statement_timeout: float = 600.0, pool_timeout: float = 5.0
    ) -> None:
        super().__init__(url, statement_timeout, pool_timeout)
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
        await self._drop_health()
        pool, self._pool = self._pool, None
        if pool is not None:
            await mysql.close_pool(pool)

    def pool_use(self) -> PoolUse | None:
        return mysql.pool_use(self._pool)

    async def _connect_one(self) -> Any:
        return await mysql.connect(self.url)

    async def _ping_on(self, conn: Any) -> None:
        await mysql.fetch_all(conn, "SELECT 1 FROM schema_migrations LIMIT 1")

    async def _close_one(self, conn: Any) -> None:
        conn.close()

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

    async def _begin(self, conn: Any, source: str, first_load: bool) -> BatchWriter:
        cursor = conn.cursor()
        writer = _MySQLWriter(conn, cursor, source)
        if first_load and await _lock_empty_table(conn, cursor):
            writer.table_locked = writer.loading = True
        # Read committed: the writer's "does this key exist" counts see what other importers
        # have committed meanwhile, as its upserts do.
        await cursor.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        if not writer.table_locked:
            await conn.begin()  # (under LOCK TABLES, BEGIN would release the tables)
            # Claim calls for writing before the entry in imports: a first load locks the
            # two in that order, and the other order would be a deadlock with it.
            await cursor.execute("SELECT 1 FROM calls WHERE 1 = 0 FOR UPDATE")
            await cursor.fetchall()
        return writer

    async def _end(self, writer: BatchWriter, commit: bool) -> None:
        assert isinstance(writer, _MySQLWriter)
        try:
            if commit:
                await writer.conn.commit()
            else:
                await writer.conn.rollback()
        finally:
            try:
                if writer.table_locked:
                    await _unlock_table(writer.conn, writer._cursor)
            finally:
                # A connection still inside a transaction (a failed commit) is dropped by
                # the pool.
                await self._live_pool().release(writer.conn)

    async def _repair(self) -> None:
        """Builds indexes of ``calls`` that are missing: a first load that died half-way
        (one still running holds the lock, and is left alone)."""
        async with self._live_pool().acquire() as conn, conn.cursor() as cursor:
            if not await _missing_indexes(cursor):
                return
            await cursor.execute(f"SELECT GET_LOCK({_LOCK_NAME}, 0)")
            if (await cursor.fetchone())[0] != 1:
                return
            try:
                await _build_missing(cursor)
            finally:
                await _release(cursor)

    @staticmethod
    def refuses_writes(exc: BaseException) -> bool:
        return mysql.refuses_writes(exc)

    async def _discard(self, conn: Any) -> None:
        mysql.discard(self._live_pool(), conn)


async def _missing_indexes(cursor: Any) -> list[str]:
    await cursor.execute(
        "SELECT DISTINCT index_name FROM information_schema.statistics "
        "WHERE table_schema = DATABASE() AND table_name = 'calls'"
    )
    present = {row[0] for row in await cursor.fetchall()}
    return [name for name in _INDEXES if name not in present]


async def _build_missing(cursor: Any) -> None:
    missing = await _missing_indexes(cursor)
    if not missing:
        return
    mysql.log.warning("building the missing indexes of calls: %s", ", ".join(missing))
    try:
        if _UNIQUE_KEY in missing:
            # Writers may have stored a call twice meanwhile; the last version stays.
            await cursor.execute(
                "DELETE c FROM calls c JOIN calls d ON d.source = c.source "
                "AND d.call_id = c.call_id AND d.id > c.id"
            )
        await cursor.execute(_add_indexes(missing))
    except mysql.DRIVER_ERRORS as exc:
        if not mysql.refuses_writes(exc):
            raise
        mysql.log.warning("cannot build them on this server: %s", exc)


def _add_indexes(names: list[str]) -> str:
    # One statement: InnoDB reads the table once for all of them.
    return "ALTER TABLE calls " + ", ".join(f"ADD {_INDEXES[name]}" for name in names)


async def _lock_empty_table(conn: Any, cursor: Any) -> bool:
    """Starts a first load when ``calls`` is empty: the migration lock, then the tables
    written locked (and rechecked), autocommit off, and the secondary indexes dropped.
    False, with nothing held, when the table has rows or another session holds a lock."""
    await cursor.execute(f"SELECT GET_LOCK({_LOCK_NAME}, 0)")
    if (await cursor.fetchone())[0] != 1:
        return False
    try:
        await cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM calls)")
        if (await cursor.fetchone())[0]:
            # Table locks want autocommit off (BEGIN would release them); a session that
            # holds the table for minutes or more makes the load go the usual way.
            await conn.autocommit(False)
            await cursor.execute(f"SET SESSION lock_wait_timeout = {_TABLE_LOCK_WAIT}")
            try:
                await cursor.execute(
                    "LOCK TABLES calls WRITE, calls AS repeated READ, imports WRITE"
                )
            except mysql.DRIVER_ERRORS as exc:
                if mysql.error_code(exc) != _LOCK_WAIT_TIMEOUT:
                    raise
                await conn.autocommit(True)
                await _release(cursor)
                return False
            await cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM calls)")
            if (await cursor.fetchone())[0]:
                await cursor.execute(
                    "ALTER TABLE calls "
                    + ", ".join(f"DROP INDEX IF EXISTS {name}" for name in _INDEXES)
                )
                return True
            await cursor.execute("UNLOCK TABLES")
            await conn.autocommit(True)
    except BaseException:
        await _release(cursor)
        raise
    await _release(cursor)
    return False


async def _release(cursor: Any) -> None:
    await cursor.execute("SET SESSION lock_wait_timeout = DEFAULT")
    await cursor.execute(f"SELECT RELEASE_LOCK({_LOCK_NAME})")
    await cursor.fetchall()


async def _unlock_table(conn: Any, cursor: Any) -> None:
    """Ends a first load (its transaction has ended): the indexes built again, whether the
    rows were committed or not, then the tables and the lock released."""
    try:
        await cursor.execute(_add_indexes(list(_INDEXES)))
    finally:
        await cursor.execute("UNLOCK TABLES")
        await conn.autocommit(True)
        await _release(cursor)


def report_hooks(flavour: mysql.Flavour, statement_timeout: float) -> QueryHooks:
    """The report query's index choice and time limit on this server (from constants and
    settings, never from request values)."""
    prefix, hint = mysql.statement_time_limit(flavour, statement_timeout)
    return QueryHooks(prefix, hint, _REPORT_INDEXES, _REPORT_INDEXES + ", calls_updated")
