"""The small protocols every store implements.

A call store answers one question, "the rows of this report, streamed", and (unless it is
read-only) takes batches of calls inside a transaction. A user store keeps API users. The
web layer, the CLI and the tests only ever talk to these protocols.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from agentcdr.records import CallRecord, ReportRequest, Row


class RowStream(Protocol):
    """An open report query. Iterating yields batches of rows; ``aclose`` frees it.

    Opening the stream runs the query far enough to see its first batch, so a failing query
    fails before a response has started.
    """

    def __aiter__(self) -> AsyncIterator[Sequence[Row]]: ...

    async def aclose(self) -> None: ...


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


class CallWriter(Protocol):
    async def write(self, records: Sequence[CallRecord]) -> None: ...

    @property
    def counts(self) -> WriteCounts: ...


class CallStore(Protocol):
    url: str
    read_only: bool

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise ``DatabaseUnavailable`` when the database cannot answer."""

    async def report(self, request: ReportRequest, chunk_rows: int) -> RowStream: ...

    def writer(self) -> AbstractAsyncContextManager[CallWriter]:
        """A transaction for importing calls: all of it commits, or none (on exception)."""
        ...

    async def count_calls(self) -> int: ...


@dataclass(frozen=True)
class ApiUser:
    name: str
    password_hash: str
    all_tenants: bool
    tenants: frozenset[str]
    active: bool
    version: int  # bumped on every change; cached credentials are keyed on it


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
