"""agentcdr's store on PostgreSQL (12 or later), through asyncpg.

Reports stream from a server-side cursor inside a read-only transaction, a batch per round
trip, with ``SET LOCAL statement_timeout`` bounding every step. Rendered reports
(``rendered``) read their head the same way and their slices (``store.slices``) with
``COPY (SELECT …) TO STDOUT``, several at a time on their own connections: the server
renders the rows and the worker passes the bytes on (``_copy_text``). Imports copy each batch into
a temporary table (binary COPY) and upsert it from there in one statement, which also says
how many rows were inserted and how many changed. A first load into an empty table locks it,
drops its secondary indexes, copies each batch straight into it, and builds the indexes
before the commit: all in the one transaction, so a failure rolls the indexes back too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import suppress
from typing import Any, Final

import asyncpg  # type: ignore[import-untyped]

from agentcdr.errors import ConfigError, DatabaseUnavailable
from agentcdr.records import COLUMNS, Cursor, ReportRequest, Row
from agentcdr.render import RowStyle, TextBatch, compile_text
from agentcdr.store.base import PoolUse, WriteRow
from agentcdr.store.slices import Piece, SliceStream, part_limit
from agentcdr.store.sql.rendered import (
    POSTGRES_SESSION,
    RowSQL,
    RowTexts,
    checked,
    csv_cells,
    joined,
    last_key_query,
    part_query,
    renders,
)
from agentcdr.store.sql.report_query import report_query, summary_query
from agentcdr.store.sql.rows import (
    CALL_COLUMN_NAMES,
    CALL_COLUMNS,
    REPEATED,
    VALUE_COLUMNS,
    WRITE_COLUMNS,
    merge_repeats,
    merge_sql,
)
from agentcdr.store.sql.schema import CALL_INDEXES, POSTGRESQL, create_index, migrate
from agentcdr.store.sql.server_store import BatchWriter, ServerStore
from agentcdr.store.sql.urls import postgres_connect_kwargs
from agentcdr.store.stream import TIME_LIMIT, UNREADABLE

# pg_advisory_xact_lock key of migrations ("agentcdr" as a big-endian integer). Advisory
# locks are per database, so two agentcdr databases on one server do not wait on each other.
_MIGRATION_LOCK: Final = int.from_bytes(b"agentcdr", "big")

_TYPES: Final = {
    **{c.store: {"int": "integer", "bigint": "bigint"}[c.kind] for c in COLUMNS if c.integer},
    "inserted_at": "bigint",
    "updated_at": "bigint",
    "import_id": "bigint",
}
# Batches are copied (binary COPY, the fastest way in) into a temporary table without
# indexes, then upserted from there in one statement.
_STAGING: Final = "agentcdr_import"
STAGING_TABLE: Final = (
    f"CREATE TEMPORARY TABLE {_STAGING} ("
    + ", ".join(f"{c} {_TYPES.get(c, 'text')}" for c in WRITE_COLUMNS)
    + ") ON COMMIT DROP"
)
_SELECT_STAGED: Final = f"{', '.join(WRITE_COLUMNS)}, $1, $1, $2"  # the stamps: now, import id
# xmax = 0 holds exactly for rows this statement inserted (an updated row version carries
# the updating transaction's id): the usual way to tell inserts from updates in one upsert.
UPSERT: Final = (
    f"WITH up AS (INSERT INTO calls ({CALL_COLUMNS}) SELECT {_SELECT_STAGED} FROM {_STAGING} "
    "ON CONFLICT (source, call_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*VALUE_COLUMNS, "updated_at"))
    + f" WHERE ({', '.join(f'calls.{c}' for c in VALUE_COLUMNS)}) IS DISTINCT FROM "
    f"({', '.join(f'excluded.{c}' for c in VALUE_COLUMNS)}) "
    "RETURNING xmax = 0 AS inserted) "
    "SELECT count(*) FILTER (WHERE inserted), count(*) FROM up"
)


# What a failing report step can raise: server errors, driver errors (a connection whose
# protocol was left mid-operation, by a cancelled read on a killed session, included),
# socket errors.
_DB_ERRORS: Final = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncpg.QueryCanceledError):
        return TIME_LIMIT
    return UNREADABLE


async def _give_back(pool: Any, conn: Any) -> None:
    """End any transaction on ``conn`` and return it to the pool, whatever happens."""
    try:
        if not conn.is_closed() and conn.is_in_transaction():
            await conn.execute("ROLLBACK")
    except BaseException:
        # A connection that cannot even roll back is not fit for reuse.
        conn.terminate()
        raise
    finally:
        # Pool.release is shielded from cancellation: the connection goes back even when the
        # client went away mid-report.
        await pool.release(conn)


async def _throw_away(pool: Any, conn: Any) -> None:
    """Closes a pooled connection in an unknown state and gives it back (the pool opens a
    new one when needed). A connection the server dropped may already be back in the pool:
    then there is nothing left to do."""
    with suppress(asyncpg.InterfaceError):
        conn.terminate()
    with suppress(asyncpg.InterfaceError):
        await pool.release(conn)


class _PostgresRows:
    """A report read from a server-side cursor inside a read-only transaction, a batch per
    round trip (a ``BatchSource``)."""

    def __init__(self, pool: Any, conn: Any, request: ReportRequest, limit_ms: int) -> None:
        self._pool = pool
        self._conn = conn
        self._request = request
        self._limit_ms = limit_ms
        self._cursor: Any = None

    async def fetch(self, rows: int) -> Sequence[Row]:
        try:
            if self._cursor is None:
                sql, params = report_query(self._request, POSTGRESQL)
                # One round trip; the limit comes from settings, never from the request.
                await self._conn.execute(
                    f"BEGIN READ ONLY; SET LOCAL statement_timeout = {self._limit_ms}"
                )
                self._cursor = await self._conn.cursor(sql, *params)
            return list(map(tuple, await self._cursor.fetch(rows)))
        except _DB_ERRORS as exc:
            raise DatabaseUnavailable(_describe(exc)) from exc

    async def release(self, exhausted: bool) -> None:
        if not exhausted:
            # Stopped mid-report (a client gone, a cut, a failure): the connection may still
            # be busy with a read that was cancelled; it is not handed to anyone again.
            await _throw_away(self._pool, self._conn)
            return
        # Rolling back ends the read-only transaction and closes the portal.
        with suppress(*_DB_ERRORS):
            await _give_back(self._pool, self._conn)


# The memory of the server's index builds at the end of a first load (the default, 64 MB,
# sorts 2M calls in several passes on disk).
BUILD_MEMORY: Final = "256MB"
# The name of the unique (source, call_id) constraint (PostgreSQL chose it in migration 1).
_UNIQUE_KEY: Final = (
    "SELECT conname FROM pg_constraint WHERE conrelid = 'calls'::regclass AND contype = 'u'"
)
# How long a first load waits to lock the empty table (readers of an empty table finish at
# once; anything longer is a stuck session, and the import goes the usual way).
_LOCK_WAIT: Final = "2s"


# COPY's text format writes a row's backslash, and the control characters among these, as
# two characters; a real line feed only ends a row.
_COPY_ESCAPES: Final = {
    b"\\": b"\\",
    b"b": b"\b",
    b"f": b"\f",
    b"n": b"\n",
    b"r": b"\r",
    b"t": b"\t",
    b"v": b"\v",
}
_COPY_ESCAPE: Final = re.compile(rb"\\(.)", re.DOTALL)


def _copy_text(style: RowStyle, data: bytes) -> bytes:
    """COPY's text-format output of one rendered column as the batch of ``style``."""
    end = style.separator.encode()  # COPY ends each row in a line feed
    if end != b"\n":
        data = data.replace(b"\n", end)
        if style.kind == "json":
            data = data[:-1]  # the last row's comma
    if b"\\" in data:
        data = _COPY_ESCAPE.sub(lambda m: _COPY_ESCAPES[m[1]], data)
    return data


_PLACEHOLDER: Final = re.compile(r"\$(\d+)\b")
# COPY's CSV quotes a value when agentcdr's CSV does (a quote, a comma, a carriage return or
# a line feed in it; quotes doubled), and two more: a value equal to its NULL text, here
# longer than any value a store column holds (VARCHAR(100), and the ``'`` of
# csvFormulas=neutralize), no cell being NULL (``rendered.csv_cells``); and, in a row of one
# cell, a lone ``\.``, so such rows are rendered as before (``_PostgresText._native_csv``).
CSV_COPY: Final = {"format": "csv", "null": "N" * 128}


class _PostgresText:
    """Reads parts of a rendered report: the head from a query (its last row's key is
    needed), slices by COPY. COPY takes no parameters, so the report's values are written
    into the statement as the server quotes them (``quote_literal``, once per report, as
    asyncpg's ``copy_from_query`` does for its arguments); integers as integers."""

    def __init__(self, store: PostgresStore, style: RowStyle, limit_ms: int) -> None:
        self._store = store
        self._texts = RowTexts(style, POSTGRESQL.name)
        self._limit_ms = limit_ms
        self._literals: dict[str, str] = {}
        # CSV slices from COPY's own CSV (``_csv``), until a part holds a line feed in a
        # value; not for one-cell rows, where COPY quotes a lone ``\.`` and agentcdr not.
        self._native_csv = style.kind == "csv" and len(style.fields) > 1

    async def _quote(self, conn: Any, values: list[Any]) -> None:
        texts = sorted({v for v in values if isinstance(v, str)} - self._literals.keys())
        if texts:
            quoted = await conn.fetch("SELECT quote_literal(v) FROM unnest($1::text[]) v", texts)
            self._literals.update(zip(texts, (r[0] for r in quoted), strict=True))

    def _inline(self, sql: str, values: list[Any]) -> str:
        def literal(value: Any) -> str:
            return self._literals[value] if isinstance(value, str) else str(int(value))

        return _PLACEHOLDER.sub(lambda m: literal(values[int(m[1]) - 1]), sql)

    async def _copy(
        self, conn: Any, sql: str, params: list[Any], **options: str
    ) -> tuple[bytes, int]:
        """COPY's output of the query, and its row count."""
        await self._quote(conn, params)
        chunks: list[bytes] = []

        async def append(data: bytes) -> None:
            chunks.append(data)

        status = await conn.copy_from_query(self._inline(sql, params), output=append, **options)
        return b"".join(chunks), int(status.rpartition(" ")[2])

    async def _csv(self, conn: Any, part: ReportRequest) -> tuple[bytes | None, int]:
        """A CSV part from COPY's own CSV (``CSV_COPY``); None when a value holds a line
        feed (a quoted one, which COPY writes as it is: then not every line feed ends a row,
        and the part is read again, escaped in SQL)."""
        style = self._texts.style
        cells = csv_cells(style, part.start_ts, part.end_ts)
        sql, params = report_query(part, POSTGRESQL, columns=cells)
        data, rows = await self._copy(conn, sql, params, **CSV_COPY)
        if data.count(b"\n") != rows:
            return None, rows
        return data.replace(b"\n", style.separator.encode()), rows

    async def head(self, part: ReportRequest) -> Piece:
        return await self._read(part, copy=False)

    async def slice(self, part: ReportRequest) -> Piece:
        return await self._read(part, copy=True)

    async def _read(self, part: ReportRequest, copy: bool) -> Piece:
        """A part's rows by COPY, or (the head, a small report's all) by a query: one
        round trip, where COPY may need two."""
        texts, store = self._texts, self._store
        row = texts.row(part)
        pool = store._live_pool()
        conn = await store._acquire()
        last = None
        try:
            # Repeatable read: one snapshot for the part's texts, rows and last key.
            await conn.execute(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                f"SET LOCAL statement_timeout = {self._limit_ms}; {POSTGRES_SESSION}"
            )
            text, rows = await self._text(conn, part, row, copy)
            if text is None and (again := texts.escaped(part, row)) is not None:
                text, rows = await self._text(conn, part, again, copy)
            if text is None:
                raw_sql, raw_params = report_query(part, POSTGRESQL)
                raw = await conn.fetch(raw_sql, *raw_params)
                text = compile_text(texts.style)(list(map(tuple, raw)))
            if rows == part_limit(part):
                key_sql, key_params = last_key_query(part, POSTGRESQL)
                last = Cursor(*(await conn.fetchrow(key_sql, *key_params)))
            assert text is not None
            return Piece(TextBatch(text, rows), last)
        except _DB_ERRORS as exc:
            raise DatabaseUnavailable(_describe(exc)) from exc
        finally:
            with suppress(*_DB_ERRORS):
                await _give_back(pool, conn)

    async def _text(
        self, conn: Any, part: ReportRequest, row: RowSQL, copy: bool
    ) -> tuple[str | bytes | None, int]:
        """(the part's text, None when it fails ``row``'s check; its rows)."""
        if copy and self._native_csv:
            text, rows = await self._csv(conn, part)
            if text is not None:
                return text, rows
            # A value with a line feed (such values recur in a report): this part and every
            # later one as rendered rows, escaped in SQL as after any failed check.
            self._native_csv = False
            row = self._texts.escaped(part, row) or row  # (None: ``row`` is escaped already)
        sql, params = part_query(part, row, POSTGRESQL)
        if not copy:
            records = await conn.fetch(sql, *params)
            return joined(self._texts.style, row, [r[0] for r in records]), len(records)
        data, rows = await self._copy(conn, sql, params)
        return checked(row, _copy_text(self._texts.style, data), rows), rows


class _PostgresWriter(BatchWriter):
    # Rows per COPY: large, to spread the statements' fixed costs.
    batch_rows = 20_000

    def __init__(self, conn: Any, source: str) -> None:
        super().__init__(source)
        self.conn = conn
        self.dropped = False  # the indexes, for a first load
        self.key = ""  # the name of the unique key's constraint

    async def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        return int(await self.conn.fetchval(f"{sql} RETURNING id", *params))

    async def _run(self, sql: str, params: Sequence[Any]) -> None:
        await self.conn.execute(sql, *params)

    async def _upsert(self, batch: list[WriteRow], now: int) -> tuple[int, int]:
        await self.conn.copy_records_to_table(_STAGING, records=batch, columns=WRITE_COLUMNS)
        inserted, changed = await self.conn.fetchrow(UPSERT, now, self._import_id)
        await self.conn.execute(f"TRUNCATE {_STAGING}")
        return int(inserted), int(changed)

    async def _insert_new(self, batch: list[WriteRow], now: int) -> None:
        # Only in a first load, when the table has no unique key: nothing can clash.
        stamps = (now, now, self._import_id)
        await self.conn.copy_records_to_table(
            "calls", records=[(*row, *stamps) for row in batch], columns=CALL_COLUMN_NAMES
        )

    async def lock_empty_table(self) -> None:
        """Makes this a first load when ``calls`` is empty: locks it until the commit (other
        writers wait, and so do readers, of a table that has nothing to show yet) and drops
        its indexes, the unique key too; ``build_indexes`` builds them again."""
        empty = "SELECT NOT EXISTS (SELECT 1 FROM calls)"
        # All inside a savepoint: rolling back to it lets go of every lock taken here, the
        # one of the first look too (two first loads that both looked would deadlock).
        await self.conn.execute(f"SAVEPOINT agentcdr_load; SET LOCAL lock_timeout = '{_LOCK_WAIT}'")
        try:
            locked = await self.conn.fetchval(empty)
            if locked:
                await self.conn.execute("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE")
                locked = await self.conn.fetchval(empty)
        except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError):
            locked = False
        if not locked:
            # The table has rows, or another writer got there first.
            await self.conn.execute("ROLLBACK TO SAVEPOINT agentcdr_load")
            return
        self.key = await self.conn.fetchval(_UNIQUE_KEY)
        await self.conn.execute(
            "SET LOCAL lock_timeout = DEFAULT; "
            f'ALTER TABLE calls DROP CONSTRAINT "{self.key}"; '
            + "".join(f"DROP INDEX IF EXISTS {name}; " for name in CALL_INDEXES)
            + "RELEASE SAVEPOINT agentcdr_load"
        )
        self.dropped = self.loading = True

    async def build_indexes(self) -> None:
        """The unique key (merging a call the file held more than once, which stops it the
        first time), then the secondary indexes."""
        if not self.dropped:
            return
        add_key = f'ALTER TABLE calls ADD CONSTRAINT "{self.key}" UNIQUE (source, call_id)'
        await self.conn.execute(
            f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'; SAVEPOINT agentcdr_key"
        )
        try:
            await self.conn.execute(add_key)
        except asyncpg.UniqueViolationError:
            await self.conn.execute("ROLLBACK TO SAVEPOINT agentcdr_key")
            merged = merge_repeats([tuple(r) for r in await self.conn.fetch(REPEATED)])
            update, delete = merge_sql(POSTGRESQL.placeholders(len(VALUE_COLUMNS) + 2))
            await self.conn.executemany(update, merged.updates)
            await self.conn.executemany(delete, merged.deletes)
            self.repeated(merged)
            await self.conn.execute(add_key)
        await self.conn.execute(
            "RELEASE SAVEPOINT agentcdr_key; "
            + "; ".join(create_index(name) for name in CALL_INDEXES)
        )


class _MigrationSession:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._conn.execute(sql, *params)

    async def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(map(tuple, await self._conn.fetch(sql, *params)))


class PostgresStore(ServerStore):
    dialect = POSTGRESQL
    connection_errors = (
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,
        asyncpg.CannotConnectNowError,
        asyncpg.TooManyConnectionsError,
        asyncpg.InvalidAuthorizationSpecificationError,
        asyncpg.InvalidCatalogNameError,
        asyncpg.exceptions.OperatorInterventionError,
    )
    duplicate_errors = (asyncpg.UniqueViolationError,)
    driver_errors = _DB_ERRORS

    async def _connect(self) -> None:
        self._pool = await asyncpg.create_pool(
            min_size=1,
            max_size=self.server.pool_size,
            # Custom plans always: a generic plan chosen for a 1-day range would also serve a
            # 1-year range (and vice versa), and the right plan differs between them.
            server_settings={
                "application_name": "agentcdr",
                "plan_cache_mode": "force_custom_plan",
            },
            **postgres_connect_kwargs(self.url),
        )

    async def _migrate(self) -> None:
        async with self._live_pool().acquire() as conn:
            encoding = await conn.fetchval("SHOW server_encoding")
            if encoding != "UTF8":
                raise ConfigError(
                    f"the PostgreSQL database uses encoding {encoding}; agentcdr needs UTF8 "
                    "(CREATE DATABASE … ENCODING 'UTF8')"
                )
            async with conn.transaction():
                # Several workers or hosts may start at once: one migrates, the others wait
                # and then find nothing left to do. The lock ends with the transaction.
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                await migrate(_MigrationSession(conn), POSTGRESQL)

    async def close(self) -> None:
        await self._drop_health()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def pool_use(self) -> PoolUse | None:
        pool = self._pool
        if pool is None:
            return None
        return PoolUse(open=pool.get_size(), in_use=pool.get_size() - pool.get_idle_size())

    async def _connect_one(self) -> Any:
        return await asyncpg.connect(
            server_settings={"application_name": "agentcdr"}, **postgres_connect_kwargs(self.url)
        )

    async def _ping_on(self, conn: Any) -> None:
        await conn.fetchval("SELECT 1 FROM schema_migrations LIMIT 1")

    async def _close_one(self, conn: Any) -> None:
        await conn.close(timeout=2)

    async def fetch_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.connection() as conn:
            return list(map(tuple, await conn.fetch(sql, *params)))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self.connection() as conn:
            status: str = await conn.execute(sql, *params)
        # The command tag ends with the row count ("UPDATE 1", "INSERT 0 1") where it has one.
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0

    def _rows(self, conn: Any, request: ReportRequest) -> _PostgresRows:
        limit_ms = max(1, int(self.statement_timeout * 1000))
        return _PostgresRows(self._live_pool(), conn, request, limit_ms)

    async def rendered(
        self, request: ReportRequest, style: RowStyle, chunk_rows: int
    ) -> SliceStream | None:
        if not renders(request):
            return None
        limit_ms = max(1, int(self.statement_timeout * 1000))
        reader = _PostgresText(self, style, limit_ms)
        return await SliceStream.open(request, reader.slice, chunk_rows, head=reader.head)

    async def _summary(self, request: ReportRequest, group_by: tuple[str, ...]) -> list[Any]:
        sql, params = summary_query(request, group_by, POSTGRESQL)
        limit_ms = max(1, int(self.statement_timeout * 1000))
        pool = self._live_pool()
        conn = await self._acquire()
        try:
            async with conn.transaction(readonly=True):
                await conn.execute(f"SET LOCAL statement_timeout = {limit_ms}")
                return list(map(tuple, await conn.fetch(sql, *params)))
        except _DB_ERRORS as exc:
            raise DatabaseUnavailable(_describe(exc)) from exc
        finally:
            with suppress(*_DB_ERRORS):
                await _give_back(pool, conn)

    async def _begin(self, conn: Any, source: str, first_load: bool) -> BatchWriter:
        await conn.execute(f"BEGIN; {STAGING_TABLE}")
        writer = _PostgresWriter(conn, source)
        if first_load:
            await writer.lock_empty_table()
        return writer

    async def _end(self, writer: BatchWriter, commit: bool) -> None:
        assert isinstance(writer, _PostgresWriter)
        try:
            if commit:
                await writer.conn.execute("COMMIT")
        finally:
            await _give_back(self._live_pool(), writer.conn)

    @staticmethod
    def refuses_writes(exc: BaseException) -> bool:
        # A hot standby (or default_transaction_read_only), or a role without the grants.
        return isinstance(
            exc, asyncpg.ReadOnlySQLTransactionError | asyncpg.InsufficientPrivilegeError
        )

    async def _discard(self, conn: Any) -> None:
        await _throw_away(self._live_pool(), conn)
