"""The database server drops agentcdr's connections (a restart, a killed session): requests
get an answer or a 503 with the error body, never a 500, and /healthz says the server is up
as soon as a new connection works."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.conftest import MYSQL_ADMIN, POSTGRES_ADMIN, USERS, ApiHarness
from tests.seed import seed

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}


async def _kill(url: str) -> int:
    """Ends every session of the test database, as an operator (or a failover) would."""
    name = url.rsplit("/", 1)[1].split("?", maxsplit=1)[0]
    if url.startswith("postgresql"):
        import asyncpg

        conn = await asyncpg.connect(POSTGRES_ADMIN)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    name,
                )
            )
        finally:
            await conn.close()
    import asyncmy

    from agentcdr.store.sql.urls import mysql_connect_kwargs

    conn = await asyncmy.connect(**mysql_connect_kwargs(MYSQL_ADMIN))
    try:
        async with conn.cursor() as cur:
            await cur.execute(
                "SELECT id FROM information_schema.processlist WHERE db = %s", (name,)
            )
            ids = [row[0] for row in await cur.fetchall()]
            for ident in ids:
                await cur.execute(f"KILL {int(ident)}")
        return len(ids)
    finally:
        conn.close()


@pytest.mark.parametrize("server", ["postgres_url", "mysql_url"])
def test_killed_connections_are_an_answer_or_a_503_never_a_500(
    server: str, request: pytest.FixtureRequest
) -> None:
    store_url: str = request.getfixturevalue(server)  # SQLite has no server to drop one
    # Asked for after the database, so the app is shut down before the database is dropped.
    open_api: Callable[..., ApiHarness] = request.getfixturevalue("open_api")
    seed(store_url, users=USERS)
    api = open_api(store_url, credential_cache_ttl=0)
    assert api.post(**DAY).status_code == 200
    assert api.client.get("/healthz").status_code == 200
    for _ in range(3):
        assert asyncio.run(_kill(store_url)) > 0
        # The health connection was killed too: one new connection decides.
        assert api.client.get("/healthz").json() == {"status": "ok"}
        for _ in range(4):
            response = api.post(limit="3", **DAY)
            assert response.status_code in (200, 503), response.text
            if response.status_code == 503:
                assert response.json()["code"] == "10007"
    assert api.post(**DAY).status_code == 200
