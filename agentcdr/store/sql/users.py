"""API users in the ``api_users`` table, for every SQL store (SQLite, PostgreSQL, MariaDB)."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import Any, Final, Protocol

from agentcdr.errors import ConfigError
from agentcdr.records import ApiUser
from agentcdr.store.sql.schema import Dialect

USER_COLUMNS: Final = "name, password_hash, all_tenants, tenants, active, version"


def user_from_row(row: tuple[Any, ...]) -> ApiUser:
    name, password_hash, all_tenants, tenants, active, version = row
    return ApiUser(
        name=name,
        password_hash=password_hash,
        all_tenants=bool(all_tenants),
        tenants=frozenset(t for t in str(tenants).split(",") if t),
        active=bool(active),
        version=int(version),
    )


class UserSQL:
    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect
        mark = dialect.placeholders(1)[0]
        self.get = f"SELECT {USER_COLUMNS} FROM api_users WHERE name = {mark}"
        self.list = f"SELECT {USER_COLUMNS} FROM api_users ORDER BY name"

    def insert(
        self, name: str, password_hash: str, all_tenants: bool, tenants: frozenset[str]
    ) -> tuple[str, tuple[Any, ...]]:
        now = int(time.time())
        marks = ", ".join(self.d.placeholders(8))
        sql = (
            "INSERT INTO api_users (name, password_hash, all_tenants, tenants, active, version, "
            f"created_at, updated_at) VALUES ({marks})"
        )
        params = (name, password_hash, all_tenants, ",".join(sorted(tenants)), True, 1, now, now)
        return sql, params

    def update(self, name: str, **changes: Any) -> tuple[str, tuple[Any, ...]]:
        sets: list[str] = []
        values: list[Any] = []
        for column in ("password_hash", "active", "all_tenants", "tenants"):
            value = changes.get(column)
            if value is None:
                continue
            if column == "tenants":
                value = ",".join(sorted(value))
            sets.append(column)
            values.append(value)
        values.append(int(time.time()))
        values.append(name)
        marks = self.d.placeholders(len(values))
        assignments = [f"{c} = {m}" for c, m in zip(sets, marks, strict=False)]
        assignments += [f"updated_at = {marks[-2]}", "version = version + 1"]
        sql = f"UPDATE api_users SET {', '.join(assignments)} WHERE name = {marks[-1]}"
        return sql, tuple(values)


class Statements(Protocol):
    """What an SQL store offers ``SQLUsers`` and ``SQLImports``: its dialect and plain
    statements."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def duplicate_errors(self) -> tuple[type[BaseException], ...]: ...

    async def fetch_rows(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]: ...

    async def execute(self, sql: str, params: Any = ()) -> int: ...

    def writable(self) -> AbstractContextManager[None]: ...


class SQLUsers:
    """API users in the ``api_users`` table of an SQL store."""

    def __init__(self, store: Statements) -> None:
        self._store = store
        self._sql = UserSQL(store.dialect)

    async def get_user(self, name: str) -> ApiUser | None:
        """The user of exactly this name: MariaDB's collations compare with trailing spaces
        ignored (PAD SPACE), so ``'ops '`` would otherwise find ``ops``."""
        rows = await self._store.fetch_rows(self._sql.get, (name,))
        return next((user_from_row(r) for r in rows if r[0] == name), None)

    async def list_users(self) -> list[ApiUser]:
        return [user_from_row(r) for r in await self._store.fetch_rows(self._sql.list)]

    async def add_user(
        self, name: str, password_hash: str, all_tenants: bool, tenants: frozenset[str]
    ) -> None:
        sql, params = self._sql.insert(name, password_hash, all_tenants, tenants)
        try:
            with self._store.writable():
                await self._store.execute(sql, params)
        except self._store.duplicate_errors as exc:
            raise ConfigError(f"user {name!r} already exists") from exc

    async def update_user(self, name: str, **changes: Any) -> None:
        with self._store.writable():
            changed = await self._store.execute(*self._sql.update(name, **changes))
        if changed == 0:
            raise ConfigError(f"no such user: {name!r}")
