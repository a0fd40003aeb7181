"""Fixtures that seed real databases: SQLite in a temp dir, and the PostgreSQL and MariaDB
servers when they are reachable. Outside CI a missing server skips its tests with the reason;
in CI (CI=true) it fails them, because CI must test every store."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN = os.environ.get(
    "AGENTCDR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MYSQL_ADMIN = os.environ.get("AGENTCDR_TEST_MYSQL", "mysql://root@127.0.0.1:3306/")

STORE_KINDS = ("sqlite", "postgresql", "mysql")


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashes() -> Iterator[None]:
    """argon2's cheapest costs for every hash the suite makes in-process (production's cost
    64 MiB and tens of milliseconds each); test_auth checks the production costs, and the
    servers and commands the suite starts as processes hash as in production."""
    from argon2 import profiles

    from agentcdr import auth

    auth.use_parameters(profiles.CHEAPEST)
    yield
    auth.use_parameters(auth.PRODUCTION)


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
    import asyncmy

    from agentcdr.store.sql.urls import mysql_connect_kwargs

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
    except Exception as exc:
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
    yield from _server_database(kind)


API = "/goAPIv2/goReports/goAPI.php"
USERS: dict[str, frozenset[str] | None] = {
    "admin": None,
    "galonly": frozenset({"GAL"}),
    "gal.csc": frozenset({"GAL", "CSC"}),
    "noscope": frozenset(),
}


class ApiHarness:
    """The real app over a seeded store, driven through HTTP in-process."""

    def __init__(self, url: str, client: object, log: Path) -> None:
        from starlette.testclient import TestClient

        assert isinstance(client, TestClient)
        self.url = url
        self.client = client
        self.log = log

    def params(self, **extra: object) -> dict[str, object]:
        from tests.seed import PASSWORD

        base: dict[str, object] = {
            "goAction": "agent_cdr",
            "goUser": "admin",
            "goPass": PASSWORD,
            "responsetype": "json",
        }
        base.update(extra)
        return {k: v for k, v in base.items() if v is not None}

    def get(self, **extra: object):  # type: ignore[no-untyped-def]
        return self.client.get(API, params=self.params(**extra))  # type: ignore[arg-type]

    def post(self, **extra: object):  # type: ignore[no-untyped-def]
        return self.client.post(API, data=self.params(**extra))  # type: ignore[arg-type]

    def post_pairs(self, pairs: list[tuple[str, object]]):  # type: ignore[no-untyped-def]
        """A form POST with repeated keys, encoded as a browser or curl would."""
        from urllib.parse import urlencode

        return self.client.post(
            API,
            content=urlencode(pairs),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def rows(self, **extra: object) -> list[dict[str, object]]:
        response = self.post(**extra)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["result"] == "success", body
        return body["data"]["rows"]  # type: ignore[no-any-return]


def make_harness(url: str, tmp_path: Path, **settings: object) -> Iterator[ApiHarness]:
    from starlette.testclient import TestClient

    from agentcdr.settings import Settings
    from agentcdr.web.app import create_app

    log = tmp_path / "access.log"
    values: dict[str, object] = {"db": url, "tz": "America/New_York", "access_log": str(log)}
    values.update(settings)
    app = create_app(Settings.load(values, environ={}))
    with TestClient(app, client=("203.0.113.9", 50000)) as client:
        yield ApiHarness(url, client, log)


@pytest.fixture
def open_api(tmp_path: Path) -> Iterator[Callable[..., ApiHarness]]:
    """Opens the app on a store with given settings; every app opened is shut down at the
    end of the test, also when the test fails (a TestClient left open keeps its thread, and
    with it pytest, alive)."""
    with contextlib.ExitStack() as stack:

        def open_(url: str, **settings: object) -> ApiHarness:
            opened = contextlib.contextmanager(make_harness)(url, tmp_path, **settings)
            return stack.enter_context(opened)

        yield open_


@pytest.fixture
def api(store_url: str, tmp_path: Path) -> Iterator[ApiHarness]:
    """The app over the hand-written call set, once for every store kind."""
    from tests.seed import seed

    seed(store_url, users=USERS)
    yield from make_harness(store_url, tmp_path)


@pytest.fixture
def sqlite_api(sqlite_url: str, tmp_path: Path) -> Iterator[ApiHarness]:
    """The same, on SQLite only (for behaviour that does not depend on the store)."""
    from tests.seed import seed

    seed(sqlite_url, users=USERS)
    yield from make_harness(sqlite_url, tmp_path)
