"""SQL for the api_users table, shared by every SQL dialect."""

from __future__ import annotations

import time
from typing import Any, Final

from agentcdr.store.base import ApiUser
from agentcdr.store.schema import Dialect

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
