"""Fixtures that seed real databases: SQLite in a temp dir, and the PostgreSQL and MariaDB
servers when they are reachable. Outside CI a missing server skips its tests with the reason;
in CI (CI=true) it fails them, because CI must test every store."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN = os.environ.get(
    "AGENTCDR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MYSQL_ADMIN = os.environ.get("AGENTCDR_TEST_MYSQL", "mysql://root@127.0.0.1:3306/")

STORE_KINDS = ("sqlite", "postgresql", "mysql")


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI must test this store, but: {reason}")
    pytest.skip(reason)


async def _postgres_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _mysql_admin(sql: str) -> None:
    from agentcdr.store.urls import mysql_connect_kwargs

    import asyncmy

    conn = await asyncmy.connect(**mysql_connect_kwargs(MYSQL_ADMIN), connect_timeout=5)
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql)
    finally:
        conn.close()


def _server_database(kind: str) -> Iterator[str]:
    """A fresh, empty database on the server of ``kind``; dropped afterwards."""
    name = f"agentcdr_test_{secrets.token_hex(4)}"
    if kind == "postgresql":
        admin, base = _postgres_admin, POSTGRES_ADMIN.rsplit("/", 1)[0]
    else:
        admin, base = _mysql_admin, MYSQL_ADMIN.rstrip("/")
    try:
        asyncio.run(admin(f"CREATE DATABASE {name}"))
    except Exception as exc:  # noqa: BLE001 - any failure means the server is not usable
        unavailable(f"{kind} server not reachable at {base}: {exc}")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f"DROP DATABASE {name}"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'calls.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _server_database("postgresql")


@pytest.fixture
def mysql_url() -> Iterator[str]:
    yield from _server_database("mysql")


@pytest.fixture(params=STORE_KINDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every writable store kind; tests using it run unchanged against each."""
    kind = request.param
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'calls.db'}"
        return
    if kind not in _SERVER_STORES_READY:
        pytest.skip(f"the {kind} store is not implemented in this build")
    yield from _server_database(kind)


# Filled in as each server store lands (see agentcdr/store/__init__.py).
_SERVER_STORES_READY: set[str] = set()
