"""The record of imports in the ``imports`` table, for every SQL store.

Every write transaction (``agentcdr import`` of a file, ``agentcdr demo``, a span of
``agentcdr sync``) has an entry, and the calls it inserted carry the entry's id, so what one
of them added can be removed again; calls it only updated were there before and stay.
"""

from __future__ import annotations

from typing import Any, Final

from agentcdr.errors import ConfigError
from agentcdr.store.base import ImportEntry
from agentcdr.store.sql.users import Statements

_COLUMNS: Final = "id, kind, name, source, started_at, inserted, updated, unchanged, removed_at"


class SQLImports:
    """The record of imports of an SQL store (the store gives its dialect and statements)."""

    def __init__(self, store: Statements) -> None:
        self._store = store
        self._mark = store.dialect.placeholders(1)[0]

    async def list(self) -> list[ImportEntry]:
        rows = await self._store.fetch_rows(
            f"SELECT {_COLUMNS}, (SELECT COUNT(*) FROM calls c WHERE c.import_id = i.id) "
            "FROM imports i ORDER BY id"
        )
        return [_entry(row) for row in rows]

    async def get(self, import_id: int) -> ImportEntry:
        rows = await self._store.fetch_rows(
            f"SELECT {_COLUMNS}, (SELECT COUNT(*) FROM calls c WHERE c.import_id = i.id) "
            f"FROM imports i WHERE id = {self._mark}",
            (import_id,),
        )
        if not rows:
            raise ConfigError(f"no import {import_id} (agentcdr imports list shows them)")
        return _entry(rows[0])

    async def remove(self, import_id: int, now: int) -> int:
        """Deletes the calls the import inserted; returns how many."""
        await self.get(import_id)
        mark = self._mark
        m1, m2 = self._store.dialect.placeholders(2)
        with self._store.writable():
            removed = await self._store.execute(
                f"DELETE FROM calls WHERE import_id = {mark}", (import_id,)
            )
            await self._store.execute(
                f"UPDATE imports SET removed_at = {m1} WHERE id = {m2}", (now, import_id)
            )
        return removed

    async def count_source(self, source: str) -> int:
        rows = await self._store.fetch_rows(
            f"SELECT COUNT(*) FROM calls WHERE source = {self._mark}", (source,)
        )
        return int(rows[0][0])

    async def remove_source(self, source: str, now: int) -> int:
        """Deletes every call of a source; returns how many. An import that added calls and
        has none left now is marked removed, as ``remove`` marks it."""
        mark = self._mark
        with self._store.writable():
            removed = await self._store.execute(
                f"DELETE FROM calls WHERE source = {mark}", (source,)
            )
            await self._store.execute(
                f"UPDATE imports SET removed_at = {mark} WHERE removed_at IS NULL "
                "AND inserted > 0 AND NOT EXISTS "
                "(SELECT 1 FROM calls c WHERE c.import_id = imports.id)",
                (now,),
            )
        return removed


def _entry(row: tuple[Any, ...]) -> ImportEntry:
    ident, kind, name, source, started, inserted, updated, unchanged, removed, calls = row
    return ImportEntry(
        int(ident),
        str(kind),
        str(name),
        str(source),
        int(started),
        int(inserted),
        int(updated),
        int(unchanged),
        None if removed is None else int(removed),
        int(calls),
    )
