"""The small protocols every store implements.

A call store answers one question, "the rows of this report, streamed" (as Python rows, or,
where the database can render them exactly, as finished text: ``rendered``), and (unless it
is read-only) takes batches of calls inside a transaction. A user store keeps API users. The
web layer, the CLI and the tests only ever talk to these protocols.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from agentcdr.records import ApiUser, CallRecord, ReportRequest, Row
from agentcdr.render import RowStyle, TextBatch
from agentcdr.summary import SummaryRow


class RowStream(Protocol):
    """An open report query. Iterating yields batches of rows; ``aclose`` frees it.

    Opening the stream runs the query far enough to see its first batch, so a failing query
    fails before a response has started.
    """

    def __aiter__(self) -> AsyncIterator[Sequence[Row]]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class PoolUse:
    """A worker's connections to the database: held open, and lent out to a request."""

    open: int
    in_use: int


class TextStream(Protocol):
    """An open rendered report: iterating yields ``render.TextBatch``es in report order;
    ``aclose`` frees it. Like ``RowStream``, opening it reads its first batch."""

    def __aiter__(self) -> AsyncIterator[TextBatch]: ...

    async def aclose(self) -> None: ...


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def __iter__(self) -> Iterator[int]:
        return iter((self.inserted, self.updated, self.unchanged))


# A call as a writer takes it in ``write_rows``: its values in the order of
# ``store.sql.rows.WRITE_COLUMNS`` (what import builds straight from a file's text, with no
# ``CallRecord`` in between; ``store.sql.rows.write_row`` makes one from a record).
WriteRow = tuple[Any, ...]


class CallWriter(Protocol):
    async def write(self, records: Sequence[CallRecord]) -> None: ...

    async def write_rows(self, rows: Sequence[WriteRow]) -> None: ...

    @property
    def counts(self) -> WriteCounts:
        """What the transaction did; final once it has ended."""
        ...

    @property
    def import_id(self) -> int:
        """The transaction's entry in the store's record of imports (``imports list``)."""
        ...


@dataclass(frozen=True)
class ImportEntry:
    """One write transaction in a store's record of imports."""

    id: int
    kind: str  # import, demo, sync
    name: str  # the file, the demo's size, the span of a sync
    source: str
    started_at: int  # UTC epoch seconds
    inserted: int
    updated: int
    unchanged: int
    removed_at: int | None
    calls: int  # calls that still carry the entry's id


class ImportLog(Protocol):
    """The record of imports: what each write transaction added, so that it can be removed."""

    async def list(self) -> list[ImportEntry]: ...

    async def get(self, import_id: int) -> ImportEntry:
        """The entry; ``ConfigError`` when there is none."""
        ...

    async def remove(self, import_id: int, now: int) -> int:
        """Deletes the calls the import inserted; returns how many."""
        ...

    async def count_source(self, source: str) -> int: ...

    async def remove_source(self, source: str, now: int) -> int:
        """Deletes every call of a source; returns how many (imports left with no call are
        marked removed at ``now``)."""
        ...


class LoginSource(Protocol):
    """Logins checked against users kept elsewhere (the VICIdial adapter's dialer users)."""

    async def verify(self, name: str, password: str) -> ApiUser | None:
        """The API user for a correct name and password, else None."""
        ...


class CallStore(Protocol):
    url: str
    read_only: bool

    @property
    def users(self) -> UserStore | None:
        """agentcdr's own API users, where the store keeps them (None: set users_db)."""
        ...

    @property
    def imports(self) -> ImportLog | None:
        """The record of imports (None: a read-only store)."""
        ...

    @property
    def logins(self) -> LoginSource | None:
        """Other users who may log in (the VICIdial adapter's; None: only ``users``)."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise ``DatabaseUnavailable`` when the database cannot answer."""

    def pool_use(self) -> PoolUse | None:
        """The connection pool's use right now (None: not open)."""
        ...

    async def report(self, request: ReportRequest, chunk_rows: int) -> RowStream: ...

    async def rendered(
        self, request: ReportRequest, style: RowStyle, chunk_rows: int
    ) -> TextStream | None:
        """The report's rows rendered as ``style`` by the database, byte for byte what
        ``render.compile_text(style)`` makes of ``report``'s rows; None when this store
        cannot render this request so (then the caller renders ``report``'s rows)."""
        ...

    async def summary(self, request: ReportRequest, group_by: tuple[str, ...]) -> list[SummaryRow]:
        """The request's calls grouped by ``group_by`` (``summary.GROUP_KEYS``), counted by
        the database with the report's own filters."""
        ...

    def writer(
        self, source: str = "", *, kind: str = "import", name: str = "", dry_run: bool = False
    ) -> AbstractAsyncContextManager[CallWriter]:
        """A transaction for importing calls: all of it commits, or none (on exception).

        ``source`` is the source of records that name none; ``kind`` (import, demo, sync)
        and ``name`` (a file, a remote) describe the transaction in the record of imports,
        whose id the calls it inserts carry. ``dry_run`` counts what would be inserted,
        updated and left unchanged, and then rolls everything back.
        """
        ...

    async def count_calls(self) -> int: ...


class UserStore(Protocol):
    async def get_user(self, name: str) -> ApiUser | None: ...

    async def list_users(self) -> list[ApiUser]: ...

    async def add_user(
        self, name: str, password_hash: str, all_tenants: bool, tenants: frozenset[str]
    ) -> None: ...

    async def update_user(
        self,
        name: str,
        *,
        password_hash: str | None = None,
        active: bool | None = None,
        all_tenants: bool | None = None,
        tenants: frozenset[str] | None = None,
    ) -> None: ...
