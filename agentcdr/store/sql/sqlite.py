"""agentcdr's embedded store: one SQLite file in WAL mode.

Concurrency design (see docs/api.md, "Streaming"): reading rows through a thread pool makes
every fetched row fight for the GIL and collapses under concurrent reports, so report rows are
fetched on the event loop itself in bounded chunks, one chunk per turn, which interleaves
concurrent reports fairly. Only the first step of a query, where SQLite may sort, can take
long; it is tried on the loop with a small time budget, and if the budget runs out the
statement is interrupted and run again in a worker thread. A progress handler enforces the
statement time limit throughout.

Rendered reports (``rendered``) are the exception: SQLite renders each row's text and joins
a slice's rows itself, and the slices after the head (``store.slices``) are read in a pool
of threads while the event loop writes the slice before: the driver lets go of the GIL while
SQLite steps, so a report's reading and writing overlap, and in a server worker (SQLite's
memory statistics off: ``sqlite_process``) its slices render on every core; the process's
slice slots bound the threads of concurrent reports.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Final

from agentcdr.errors import ConfigError, DatabaseUnavailable
from agentcdr.records import CallRecord, Cursor, ReportRequest, Row
from agentcdr.render import RowStyle, TextBatch, compile_text
from agentcdr.store.base import CallWriter, LoginSource, PoolUse, WriteCounts, WriteRow
from agentcdr.store.slices import CORES, Piece, SliceStream, part_limit, read_parts
from agentcdr.store.sql.imports import SQLImports
from agentcdr.store.sql.rendered import (
    RowSQL,
    RowTexts,
    checked,
    last_key_query,
    part_query,
    renders,
)
from agentcdr.store.sql.report_query import report_query, summary_query
from agentcdr.store.sql.rows import (
    CALL_COLUMNS,
    REPEATED,
    VALUE_COLUMNS,
    WRITE_COLUMNS,
    import_sql,
    merge_repeats,
    merge_sql,
    stamps,
    write_row,
)
from agentcdr.store.sql.schema import CALL_INDEXES, SQLITE, UNIQUE_KEY, create_index, migrate
from agentcdr.store.sql.sqlite_process import render_threads
from agentcdr.store.sql.users import SQLUsers
from agentcdr.store.stream import TIME_LIMIT, UNREADABLE, BatchStream
from agentcdr.summary import SummaryRow, finish

_OPEN_IMPORT, _CLOSE_IMPORT = import_sql(SQLITE.placeholders(4))
_INLINE_BUDGET: Final = 0.02  # seconds a first step may block the event loop
_PROGRESS_OPS: Final = 20_000  # SQLite VM steps between progress-handler calls
# An import's connection keeps up to this much of the file in its page cache (KiB): the
# unique (source, call_id) index takes every row at a random place, and with the readers'
# small cache each insert read and wrote pages back and forth (2.8x the CPU time per row at
# 2M calls: docs/benchmarks.md). SQLite takes the memory only as the index grows.
WRITE_CACHE_KIB: Final = 256 * 1024
# The page cache while a first load builds its indexes (KiB): SQLite sorts in runs of about
# this size, and runs that fit in the CPU's caches sort twice as fast as large ones.
SORT_CACHE_KIB: Final = 2000
# Helper threads SQLite's sorter may start while a first load builds its indexes (PRAGMA
# threads; SQLite allows at most 8 unless built otherwise), which sort and merge runs while
# the statement's own thread mostly waits for them: one per core.
SORT_THREADS: Final = CORES
# RowStyle.separator in SQL.
_SEPARATORS: Final = {"json": "','", "ndjson": "char(10)", "csv": "char(13, 10)", "xml": "char(10)"}
# The threads that read rendered slices: the process's, one per core (store.slices).
_SLICE_THREADS: Final = ThreadPoolExecutor(CORES, thread_name_prefix="agentcdr-slices")


def insert_sql(now: int, import_id: int) -> str:
    """The insert of one call (``WRITE_COLUMNS`` bound, the stamps as literals)."""
    marks = ", ".join(["?"] * len(WRITE_COLUMNS))
    return f"INSERT INTO calls ({CALL_COLUMNS}) VALUES ({marks}, {stamps(now, import_id)})"


def upsert_sql(now: int, import_id: int) -> str:
    """The upsert of one call (``WRITE_COLUMNS`` bound, the stamps as literals)."""
    return (
        insert_sql(now, import_id)
        + " ON CONFLICT (source, call_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in (*VALUE_COLUMNS, "updated_at"))
        + " WHERE "
        + " OR ".join(f"calls.{c} IS NOT excluded.{c}" for c in VALUE_COLUMNS)
    )


def path_from_url(url: str) -> Path:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ConfigError(f"not a SQLite URL (sqlite:///PATH): {url}")
    return Path(url[len(prefix) :])


class _Deadline:
    """The progress handler: interrupts a statement once its deadline has passed."""

    def __init__(self) -> None:
        self.at = float("inf")

    def __call__(self) -> int:
        return 1 if time.monotonic() > self.at else 0


def _lower(value: str | bytes | int | float | None) -> str | bytes | int | float | None:
    return value.lower() if isinstance(value, str) else value


class _Conn:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.deadline = _Deadline()
        self.db.set_progress_handler(self.deadline, _PROGRESS_OPS)
        # SQLite's own LOWER folds ASCII only; the server stores fold every letter, and the
        # case-insensitive filters must match the same calls everywhere ("ÉTÉ" = "été").
        self.db.create_function("LOWER", 1, _lower, deterministic=True)
        for pragma in (
            "busy_timeout = 5000",
            "synchronous = NORMAL",
            # No mmap: mapped pages of the file count in the process's resident memory, which
            # then grows with the size of the report; a small page cache per connection, as
            # the operating system caches the file anyway.
            "cache_size = -2048",
            "temp_store = FILE",
        ):
            self.db.execute(f"PRAGMA {pragma}")


class _MigrationSession:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    async def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._db.execute(sql, params)

    async def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()


class _SQLiteRows:
    """The rows of one report query on one connection (a ``BatchSource``). The first fetch
    runs the statement: its first step, where SQLite may sort, is tried on the event loop
    under a small time budget and, past it, interrupted and run again in a worker thread."""

    def __init__(
        self, store: SQLiteStore, conn: _Conn, sql: str, params: list[Any], deadline: float
    ) -> None:
        self._store = store
        self._conn = conn
        self._sql = sql
        self._params = params
        self._deadline = deadline
        self._cursor: sqlite3.Cursor | None = None

    async def _execute(self) -> sqlite3.Cursor:
        db, deadline = self._conn.db, self._deadline
        self._conn.deadline.at = min(deadline, time.monotonic() + _INLINE_BUDGET)
        try:
            return db.execute(self._sql, self._params)
        except sqlite3.OperationalError as exc:
            if "interrupted" not in str(exc) or deadline <= time.monotonic():
                raise
        # A long first step (a sort): finish it off the event loop.
        self._conn.deadline.at = deadline
        return await asyncio.to_thread(db.execute, self._sql, self._params)

    async def fetch(self, rows: int) -> Sequence[Row]:
        try:
            if self._cursor is None:
                self._cursor = await self._execute()
            self._conn.deadline.at = self._deadline
            return self._cursor.fetchmany(rows)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(_describe(exc)) from exc
        finally:
            self._conn.deadline.at = float("inf")

    async def release(self, exhausted: bool) -> None:
        if self._cursor is not None:
            self._cursor.close()
        self._store._release(self._conn)


def _describe(exc: sqlite3.Error) -> str:
    return TIME_LIMIT if "interrupted" in str(exc) else UNREADABLE


def joined_query(part: ReportRequest, row: RowSQL, kind: str) -> tuple[str, list[Any]]:
    """The query of (rows, a part's rows' texts joined by SQLite as a batch of ``kind``, as
    UTF-8 bytes): one step of one statement, the GIL let go throughout (fetching row by row
    takes it back for every row). An aggregate reads a subquery with ORDER BY and LIMIT in
    that order (SQLite does not flatten it; tests/test_rendered.py checks the order). As a
    BLOB, the text comes as SQLite holds it, UTF-8, which the response sends: decoding it
    into a str and encoding it again took the GIL for longer than the rest of a slice's work
    in Python, more so for non-ASCII text (SQLite holds what agentcdr wrote, valid UTF-8)."""
    sql, params = part_query(part, row, SQLITE)
    separator = _SEPARATORS[kind]
    end = "" if kind == "json" else f" || {separator}"  # RowStyle.join
    return (
        f"SELECT count(*), CAST(group_concat(line, {separator}){end} AS BLOB) FROM ({sql})",
        params,
    )


class _SQLiteText:
    """Reads parts of a rendered report (``store.slices``): the rows of ``style`` as SQLite
    renders them (``store.sql.rendered``); a part whose text fails its check is read again,
    escaped in SQL or rendered in Python from the store's rows, in the same read
    transaction."""

    def __init__(self, store: SQLiteStore, style: RowStyle, deadline: float) -> None:
        self._store = store
        self._texts = RowTexts(style, SQLITE.name)
        self._deadline = deadline

    def _joined(self, db: sqlite3.Connection, part: ReportRequest, row: RowSQL) -> Any:
        return db.execute(*joined_query(part, row, self._texts.style.kind)).fetchone()

    def _read(self, part: ReportRequest, until: float) -> Piece:
        """Raises ``sqlite3.Error``, "interrupted" once ``until`` has passed."""
        texts = self._texts
        row = texts.row(part)
        conn = self._store._acquire()
        db = conn.db
        conn.deadline.at = until
        last = None
        try:
            db.execute("BEGIN")  # one snapshot for the part's texts, rows and last key
            try:
                rows, text = self._joined(db, part, row)
                batch: str | bytes | None = checked(row, text, rows) if rows else ""
                if batch is None and (again := texts.escaped(part, row)) is not None:
                    rows, text = self._joined(db, part, again)
                    batch = checked(again, text, rows) if rows else ""
                if batch is None:
                    raw = db.execute(*report_query(part, SQLITE)).fetchall()
                    batch = compile_text(texts.style)(raw)
                if rows == part_limit(part):
                    last = Cursor(*db.execute(*last_key_query(part, SQLITE)).fetchone())
            finally:
                db.execute("COMMIT")
        finally:
            conn.deadline.at = float("inf")
            self._store._release(conn)
        assert batch is not None
        return Piece(TextBatch(batch, rows), last)

    def _in_thread(self, part: ReportRequest) -> Piece:
        try:
            return self._read(part, self._deadline)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(_describe(exc)) from exc

    async def slice(self, part: ReportRequest) -> Piece:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_SLICE_THREADS, self._in_thread, part)

    async def head(self, part: ReportRequest) -> Piece:
        """On the event loop under a small time budget, as report queries are read; past
        it, again in a thread."""
        budget = time.monotonic() + _INLINE_BUDGET
        if budget < self._deadline:
            try:
                return self._read(part, budget)
            except sqlite3.OperationalError as exc:
                if "interrupted" not in str(exc) or self._deadline <= time.monotonic():
                    raise DatabaseUnavailable(_describe(exc)) from exc
            except sqlite3.Error as exc:
                raise DatabaseUnavailable(_describe(exc)) from exc
        return await asyncio.to_thread(self._in_thread, part)


class SQLiteStore:
    read_only = False
    logins: LoginSource | None = None
    dialect = SQLITE
    duplicate_errors: tuple[type[BaseException], ...] = (sqlite3.IntegrityError,)

    def __init__(self, url: str, statement_timeout: float = 600.0, create: bool = True) -> None:
        self.url = url
        self.path = path_from_url(url)
        self.create = create  # False: a missing file is an error, not a new empty store
        self.statement_timeout = statement_timeout
        self._idle: list[_Conn] = []
        self._lent = 0  # connections lent out (pool_use), also by the slice threads
        self._counting = threading.Lock()
        self.users = SQLUsers(self)
        self.imports = SQLImports(self)

    # -- connections -----------------------------------------------------------------------
    def _acquire(self) -> _Conn:
        try:
            conn = self._idle.pop()  # also from the slice threads: one atomic step
        except IndexError:
            try:
                conn = _Conn(self.path)
            except sqlite3.Error as exc:
                raise DatabaseUnavailable() from exc
        with self._counting:
            self._lent += 1
        return conn

    def _release(self, conn: _Conn) -> None:
        with self._counting:
            self._lent -= 1
        if len(self._idle) < 16:
            self._idle.append(conn)
        else:
            conn.db.close()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        conn = self._acquire()
        try:
            yield conn.db
        finally:
            self._release(conn)

    async def fetch_rows(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        with self._statement() as db:
            return db.execute(sql, params).fetchall()

    async def execute(self, sql: str, params: Any = ()) -> int:
        with self._statement() as db:
            return db.execute(sql, params).rowcount

    @contextmanager
    def _statement(self) -> Iterator[sqlite3.Connection]:
        """A connection for one statement; a database that cannot answer is unavailable
        (an integrity error is the caller's to handle)."""
        try:
            with self.connection() as db:
                yield db
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise DatabaseUnavailable() from exc

    @contextmanager
    def writable(self) -> Iterator[None]:
        yield  # an embedded file always takes writes

    # -- life cycle ------------------------------------------------------------------------
    async def open(self) -> None:
        if not self.path.parent.exists():
            raise ConfigError(f"directory of the SQLite database does not exist: {self.path}")
        if not self.create and not self.path.exists():
            raise ConfigError(
                f"the SQLite database {self.path} does not exist (check --db; "
                "agentcdr demo, import or users add create one)"
            )
        try:
            with self.connection() as db:
                db.execute("PRAGMA journal_mode = WAL")
                # One writer at a time: the transaction is the migration lock.
                db.execute("BEGIN IMMEDIATE")
                try:
                    await migrate(_MigrationSession(db), SQLITE)
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"cannot open SQLite database {self.path}: {exc}") from exc

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().db.close()

    def pool_use(self) -> PoolUse:
        return PoolUse(open=len(self._idle) + self._lent, in_use=self._lent)

    async def ping(self) -> None:
        try:
            with self.connection() as db:
                db.execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise DatabaseUnavailable() from exc

    async def count_calls(self) -> int:
        with self.connection() as db:
            return int(db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    # -- reports ---------------------------------------------------------------------------
    async def report(self, request: ReportRequest, chunk_rows: int) -> BatchStream:
        sql, params = report_query(request, SQLITE)
        deadline = time.monotonic() + self.statement_timeout
        rows = _SQLiteRows(self, self._acquire(), sql, params, deadline)
        return await BatchStream.open(rows, chunk_rows, deadline=deadline)

    async def rendered(
        self, request: ReportRequest, style: RowStyle, chunk_rows: int
    ) -> SliceStream | None:
        if not renders(request):
            return None
        reader = _SQLiteText(self, style, time.monotonic() + self.statement_timeout)
        # Slices render in threads while the event loop writes the one before: one per core
        # in a server worker, else one at a time (store.sql.sqlite_process).
        return await SliceStream.open(
            request, reader.slice, chunk_rows, head=reader.head, parallel=render_threads(CORES)
        )

    async def summary(self, request: ReportRequest, group_by: tuple[str, ...]) -> list[SummaryRow]:
        if request.tenants == ():
            return []
        until = time.monotonic() + self.statement_timeout

        def read(part: ReportRequest) -> list[Any]:
            # One statement over a part of the range, in a thread (SQLite lets go of the GIL
            # while it steps), under the statement time limit. The connection goes back
            # from the thread, once the statement is done, even if the request was
            # cancelled meanwhile.
            sql, params = summary_query(part, group_by, SQLITE)
            conn = self._acquire()
            conn.deadline.at = until
            try:
                return conn.db.execute(sql, params).fetchall()
            finally:
                conn.deadline.at = float("inf")
                self._release(conn)

        async def in_thread(part: ReportRequest) -> list[Any]:
            return await asyncio.to_thread(read, part)

        # Each part's GROUP BY sorts its own calls on a core of its own, in a read of its
        # own (as a report's slices are); ``finish`` merges the groups that more than one
        # part holds.
        try:
            results = await read_parts(request, render_threads(CORES), in_thread)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(_describe(exc)) from exc
        return finish(((r[:-3], *r[-3:]) for rows in results for r in rows), group_by)

    # -- writes ----------------------------------------------------------------------------
    @asynccontextmanager
    async def writer(
        self, source: str = "", *, kind: str = "import", name: str = "", dry_run: bool = False
    ) -> AsyncIterator[CallWriter]:
        # A connection of its own, closed at the end: its page cache grows for the import,
        # and the pool's connections keep their small one.
        try:
            conn = _Conn(self.path)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable() from exc
        db = conn.db
        try:
            db.set_progress_handler(None, 0)  # no time limit on writes, no callback per step
            db.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
            db.execute("BEGIN IMMEDIATE")
            try:
                before = int(db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
                opened = db.execute(_OPEN_IMPORT, (kind, name, source, int(time.time())))
                # Loading into an empty table: keeping the indexes up to date row by row
                # (the unique key most of all: every row lands at a random place in it)
                # costs several times the CPU of building them once at the end. All inside
                # the transaction: readers keep the old snapshot, and a failed import rolls
                # the indexes back with everything else.
                loading = before == 0 and not dry_run
                writer = _SQLiteWriter(db, source, int(opened.lastrowid or 0), loading)
                if loading:
                    _drop_indexes(db)
                yield writer
                if loading:
                    db.execute(f"PRAGMA cache_size = -{SORT_CACHE_KIB}")
                    db.execute(f"PRAGMA threads = {SORT_THREADS}")
                    writer.build_indexes()
                after = int(db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
                counts = writer.finish(after - before)
                db.execute(_CLOSE_IMPORT, (*counts, writer.import_id))
                db.execute("ROLLBACK" if dry_run else "COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.close()


def _drop_indexes(db: sqlite3.Connection) -> None:
    for name in ("calls_key", *CALL_INDEXES):
        db.execute(f"DROP INDEX IF EXISTS {name}")  # names of our own schema


class _SQLiteWriter:
    """One import transaction. While ``loading`` (a first load, no indexes), rows are
    inserted as they come, repeats of a call included; ``build_indexes`` then merges those
    as the upserts would have."""

    def __init__(self, db: sqlite3.Connection, source: str, import_id: int, loading: bool) -> None:
        self._db = db
        self._source = source
        self._import_id = import_id
        self._loading = loading
        self._seen = 0
        self._changed = 0
        self._counts = WriteCounts()
        self._now = 0
        self._sql = ""

    async def write(self, records: Sequence[CallRecord]) -> None:
        source = self._source
        await self.write_rows([write_row(r, source) for r in records])

    async def write_rows(self, rows: Sequence[WriteRow]) -> None:
        now = int(time.time())
        if now != self._now:  # the statement changes once a second at most
            self._now = now
            make = insert_sql if self._loading else upsert_sql
            self._sql = make(now, self._import_id)
        cursor = self._db.executemany(self._sql, rows)
        self._seen += len(rows)
        self._changed += max(cursor.rowcount, 0)

    def build_indexes(self) -> None:
        """The unique key (merging a call the file held more than once, which stops it the
        first time), then the secondary indexes."""
        db = self._db
        db.execute("SAVEPOINT agentcdr_key")
        try:
            db.execute(UNIQUE_KEY)
        except sqlite3.IntegrityError:
            db.execute("ROLLBACK TO agentcdr_key")
            merged = merge_repeats(db.execute(REPEATED).fetchall())
            update, delete = merge_sql(["?"] * (len(VALUE_COLUMNS) + 2))
            db.executemany(update, merged.updates)
            db.executemany(delete, merged.deletes)
            self._changed -= merged.unchanged
            db.execute(UNIQUE_KEY)
        db.execute("RELEASE agentcdr_key")
        for name in CALL_INDEXES:
            db.execute(create_index(name))

    def finish(self, inserted: int) -> WriteCounts:
        self._counts = WriteCounts(
            inserted=inserted,
            updated=self._changed - inserted,
            unchanged=self._seen - self._changed,
        )
        return self._counts

    @property
    def counts(self) -> WriteCounts:
        return self._counts

    @property
    def import_id(self) -> int:
        return self._import_id
