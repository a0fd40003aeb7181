"""Every writable store (SQLite, PostgreSQL, MariaDB/MySQL) against the same expectations.

Each test gets a fresh, empty database of each kind from the ``store_url`` fixture. Expected
rows are written out by hand; the stores differ only in their ``id`` values (PostgreSQL and
MariaDB use up key values on upserts), so rows are compared without the id.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from agentcdr.errors import ConfigError, DatabaseUnavailable, ReadOnlyStore
from agentcdr.records import CallRecord, Cursor, ReportRequest, Row
from agentcdr.store import CallStore, open_call_store
from agentcdr.store.sql.schema import LATEST
from agentcdr.store.sql.sqlite import SQLiteStore
from agentcdr.store.sql.urls import mysql_connect_kwargs, parse_server_url, postgres_connect_kwargs

T = TypeVar("T")
UTC = ZoneInfo("UTC")


# Each call as a report yields it, without the store id: the fields of a CallRecord in order.
# They are written in this order, so c1's id is below c2's (they share an answer time).
EXPECTED = {
    "c1": ("c1", "Example.User1", 1_747_170_000, "VM / NML", "5551234567", "LN-0001", "MANUAL",
           65, 1001, "CALLER", "GAL", "GALSERVERS", "SERVERS"),
    "c2": ("c2", "example.user2", 1_747_170_000, "SALE", "5551234567", "", "DIALER", 90_007,
           None, "AGENT", "CSC", "CSCCOLLECTIONS", "COLLECTIONS"),
    "c3": ("c3", "Zoë.Ånström", 1_747_160_000, "été Rappel — 日本", "+4912345", "", "INBOUND",
           0, 7, "ABANDON", "GAL", "GALCOLLECTIONS", "COLLECTIONS"),
    "c4": ("c4", "EXAMPLE.USER1", 1_747_150_000, "No Answer", "5551234567", "", "DIALER", 12,
           1004, "NONE", "XYZ", "XYZSERVERS", "SERVERS"),
    "c5": ("c5", "agent.five 🎧", 1_747_180_000, "VM / NML", "5551234567", "", "MANUAL", 3,
           9_000_000_000, "CALLER", "CSC", "CSCSERVERS", "SERVERS"),
}  # fmt: skip
CALLS = [CallRecord(*values) for values in EXPECTED.values()]

EVERYTHING = (1_700_000_000, 1_800_000_000)


@asynccontextmanager
async def opened(url: str, statement_timeout: float | None = None) -> AsyncIterator[CallStore]:
    store = open_call_store(url)
    if statement_timeout is not None:
        store.statement_timeout = statement_timeout  # type: ignore[attr-defined]
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def with_store(url: str, body: Callable[[CallStore], Awaitable[T]]) -> T:
    async def main() -> T:
        async with opened(url) as store:
            return await body(store)

    return asyncio.run(main())


async def write(store: CallStore, records: list[CallRecord]) -> tuple[int, int, int]:
    async with store.writer() as writer:
        await writer.write(records)
    c = writer.counts
    return c.inserted, c.updated, c.unchanged


async def report_rows(store: CallStore, chunk_rows: int = 1000, **kwargs: Any) -> list[Row]:
    start, end = kwargs.pop("span", EVERYTHING)
    request = ReportRequest(start_ts=start, end_ts=end, tz=UTC, **kwargs)
    stream = await store.report(request, chunk_rows)
    rows: list[Row] = []
    async for batch in stream:
        assert 0 < len(batch) <= chunk_rows
        rows.extend(batch)
    return rows


async def call_ids(store: CallStore, **kwargs: Any) -> list[str]:
    return [row[1] for row in await report_rows(store, **kwargs)]


async def raw_sql(store: CallStore, sql: str) -> None:
    """A statement straight to the database, for setting up states the API cannot reach."""
    if isinstance(store, SQLiteStore):
        with store.connection() as db:
            db.execute(sql)
    else:
        await store.execute(sql)  # type: ignore[attr-defined]


# -- schema ------------------------------------------------------------------------------------


def test_migrations_create_schema_and_reopening_is_a_no_op(store_url: str) -> None:
    async def first(store: CallStore) -> None:
        assert await store.count_calls() == 0
        await store.ping()
        assert await write(store, CALLS[:1]) == (1, 0, 0)

    async def again(store: CallStore) -> list[tuple[Any, ...]]:
        assert await store.count_calls() == 1
        if isinstance(store, SQLiteStore):
            with store.connection() as db:
                return db.execute("SELECT version FROM schema_migrations").fetchall()
        return await store.fetch_rows("SELECT version FROM schema_migrations")  # type: ignore[attr-defined, no-any-return]

    with_store(store_url, first)
    assert with_store(store_url, again) == [(v,) for v in range(1, LATEST + 1)]


def test_stores_opening_at_once_migrate_once(store_url: str) -> None:
    async def main() -> int:
        stores = [open_call_store(store_url) for _ in range(4)]
        await asyncio.gather(*(s.open() for s in stores))
        try:
            await write(stores[0], CALLS)
            return await stores[3].count_calls()
        finally:
            await asyncio.gather(*(s.close() for s in stores))

    assert asyncio.run(main()) == 5


def test_a_newer_schema_is_refused(store_url: str) -> None:
    async def bump(store: CallStore) -> None:
        await raw_sql(store, f"INSERT INTO schema_migrations VALUES ({LATEST + 1}, 0)")

    with_store(store_url, bump)
    with pytest.raises(ConfigError, match="newer than this agentcdr"):
        with_store(store_url, lambda store: asyncio.sleep(0))


def test_mariadb_tables_and_sessions_are_utf8mb4(mysql_url: str) -> None:
    async def body(store: CallStore) -> list[Any]:
        fetch = store.fetch_rows  # type: ignore[attr-defined]
        return [
            await fetch(
                "SELECT table_name, table_collation, engine FROM information_schema.tables "
                "WHERE table_schema = DATABASE() ORDER BY table_name"
            ),
            await fetch(
                "SELECT DISTINCT index_name FROM information_schema.statistics "
                "WHERE table_schema = DATABASE() AND table_name = 'calls' ORDER BY index_name"
            ),
            await fetch("SELECT @@character_set_connection, @@character_set_results"),
        ]

    assert with_store(mysql_url, body) == [
        [
            ("api_users", "utf8mb4_bin", "InnoDB"),
            ("calls", "utf8mb4_bin", "InnoDB"),
            ("imports", "utf8mb4_bin", "InnoDB"),
            ("schema_migrations", "utf8mb4_bin", "InnoDB"),
        ],
        [
            ("calls_agent",),
            ("calls_answer",),
            ("calls_import",),
            ("calls_portfolio",),
            ("calls_profile",),
            ("calls_updated",),
            ("PRIMARY",),
            ("source",),
        ],
        [("utf8mb4", "utf8mb4")],
    ]


# -- writing -----------------------------------------------------------------------------------


def test_calls_read_back_with_exact_values_and_types(store_url: str) -> None:
    async def body(store: CallStore) -> list[Row]:
        await write(store, CALLS)
        return await report_rows(store)

    rows = with_store(store_url, body)
    assert [row[1:] for row in rows] == [EXPECTED[c] for c in ("c5", "c2", "c1", "c3", "c4")]
    for row in rows:
        assert type(row) is tuple
        assert [type(v).__name__ for v in row] == [
            "int", "str", "str", "int", "str", "str", "str", "str", "int",
            "NoneType" if row[9] is None else "int", "str", "str", "str", "str",
        ]  # fmt: skip


def test_upsert_is_idempotent_and_counts(store_url: str) -> None:
    changed = CallRecord(
        "c2",
        "example.user2",
        1_747_170_000,
        "SALE",
        "5551234567",
        "",
        "DIALER",
        90_008,
        None,
        "AGENT",
        "CSC",
        "CSCCOLLECTIONS",
        "COLLECTIONS",
    )
    new = CallRecord(
        "c6",
        "new.agent",
        1_747_175_000,
        "SALE",
        "5551234567",
        "",
        "MANUAL",
        1,
        None,
        "CALLER",
        "GAL",
        "GALSERVERS",
        "SERVERS",
    )
    renamed = CallRecord("c6", "New.Agent", 1_747_175_000, "SALE", "5551234567", "", "MANUAL", 1,
                         None, "CALLER", "GAL", "GALSERVERS", "SERVERS")  # fmt: skip

    async def body(store: CallStore) -> list[Any]:
        return [
            await write(store, CALLS),
            await write(store, CALLS),
            await write(store, [*CALLS[:1], changed, new]),
            # One key twice in one batch: applied in order, as two separate writes would be.
            await write(store, [new, renamed, renamed]),
            await store.count_calls(),
            await call_ids(store, users=("new.agent",)),
            [r[2] for r in await report_rows(store, users=("new.agent",))],
            [r[8] for r in await report_rows(store, campaigns=("csccollections",))],
        ]

    assert with_store(store_url, body) == [
        (5, 0, 0),
        (0, 0, 5),
        (1, 1, 1),
        (0, 1, 2),
        6,
        ["c6"],
        ["New.Agent"],
        [90_008],
    ]


def test_source_separates_call_ids(store_url: str) -> None:
    async def body(store: CallStore) -> tuple[Any, ...]:
        async with store.writer(source="pbx-a") as a:  # type: ignore[call-arg]
            await a.write(CALLS[:2])
        async with store.writer(source="pbx-b") as b:  # type: ignore[call-arg]
            await b.write(CALLS[:2])
        return a.counts.inserted, b.counts.inserted, await store.count_calls()

    assert with_store(store_url, body) == (2, 2, 4)


def test_an_exception_inside_the_writer_commits_nothing(store_url: str) -> None:
    edited = CallRecord(
        "c1", "Someone.Else", 1, "X", "1", "", "MANUAL", 1, None, "", "GAL", "GALX", "X"
    )

    async def body(store: CallStore) -> tuple[int, list[Row]]:
        await write(store, CALLS[:1])
        try:
            async with store.writer() as writer:
                await writer.write([edited, *CALLS[1:]])
                raise RuntimeError("boom")
        except RuntimeError as exc:
            assert str(exc) == "boom"  # noqa: PT017 - the body's own error, not a rollback's
        return await store.count_calls(), [r[1:] for r in await report_rows(store)]

    assert with_store(store_url, body) == (1, [EXPECTED["c1"]])


def test_updated_at_moves_only_when_a_value_changes(store_url: str) -> None:
    edited = CallRecord(
        "c3",
        "Zoë.Ånström",
        1_747_160_000,
        "été Rappel — 日本",
        "+4912346",
        "",
        "INBOUND",
        0,
        7,
        "ABANDON",
        "GAL",
        "GALCOLLECTIONS",
        "COLLECTIONS",
    )

    async def body(store: CallStore) -> list[list[str]]:
        await write(store, CALLS)
        # Age every row, then write all of them again with one real change.
        await raw_sql(store, "UPDATE calls SET updated_at = 1000")
        await write(store, [*CALLS[:2], edited, *CALLS[3:]])
        return [
            await call_ids(store, updated_since=2000),
            await call_ids(store, updated_since=1000),
            await call_ids(store, updated_since=1001),
        ]

    assert with_store(store_url, body) == [["c3"], ["c5", "c2", "c1", "c3", "c4"], ["c3"]]


# -- reports -----------------------------------------------------------------------------------


def test_order_desc_and_asc_with_ties_broken_by_id(store_url: str) -> None:
    async def body(store: CallStore) -> tuple[list[str], list[str], bool]:
        await write(store, CALLS)
        desc = await report_rows(store)
        asc = await report_rows(store, order="asc")
        by_id = {r[1]: r[0] for r in desc}
        return [r[1] for r in desc], [r[1] for r in asc], by_id["c1"] < by_id["c2"]

    assert with_store(store_url, body) == (
        ["c5", "c2", "c1", "c3", "c4"],
        ["c4", "c3", "c1", "c2", "c5"],
        True,
    )


FILTERS: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["c5", "c2", "c1", "c3", "c4"]),
    ({"users": ("example.user1",)}, ["c1", "c4"]),
    ({"users": ("example.user1", "example.user2")}, ["c2", "c1", "c4"]),
    ({"users": ("zoë.ånström",)}, ["c3"]),
    ({"users": ("agent.five 🎧",)}, ["c5"]),
    ({"users": ("nobody",)}, []),
    ({"tenants": ("CSC",)}, ["c5", "c2"]),
    ({"tenants": ("CSC", "XYZ")}, ["c5", "c2", "c4"]),
    ({"tenants": ("QQQ",)}, []),
    ({"profiles": ("SERVERS",)}, ["c5", "c1", "c4"]),
    ({"profiles": ("COLLECTIONS", "SERVERS")}, ["c5", "c2", "c1", "c3", "c4"]),
    ({"call_types": ("DIALER",)}, ["c2", "c4"]),
    ({"call_types": ("INBOUND", "MANUAL")}, ["c5", "c1", "c3"]),
    ({"dispositions": ("vm / nml",)}, ["c5", "c1"]),
    ({"dispositions": ("été rappel — 日本", "sale")}, ["c2", "c3"]),
    ({"campaigns": ("galservers",)}, ["c1"]),
    ({"campaigns": ("galservers", "cscservers")}, ["c5", "c1"]),
    ({"phones": ("+4912345",)}, ["c3"]),
    ({"phones": ("+4912345", "5551234567")}, ["c5", "c2", "c1", "c3", "c4"]),
    ({"loans": ("LN-0001",)}, ["c1"]),
    ({"loans": ("",), "phones": ("5551234567",)}, ["c5", "c2", "c4"]),
    ({"updated_since": 4_000_000_000}, []),
    ({"updated_since": 0}, ["c5", "c2", "c1", "c3", "c4"]),
    # Start inclusive, end exclusive.
    ({"span": (1_747_160_000, 1_747_170_000)}, ["c3"]),
    ({"span": (1_747_160_001, 1_747_170_001)}, ["c2", "c1"]),
    ({"span": (1_747_150_000, 1_747_150_001)}, ["c4"]),
    ({"span": (1_747_180_001, 1_800_000_000)}, []),
    ({"tenants": ("GAL", "CSC"), "profiles": ("SERVERS",), "call_types": ("MANUAL",)},
     ["c5", "c1"]),
    # A limit asks for one row more, which tells the caller that another page exists.
    ({"limit": 2}, ["c5", "c2", "c1"]),
    ({"limit": 2, "order": "asc"}, ["c4", "c3", "c1"]),
    ({"limit": 10}, ["c5", "c2", "c1", "c3", "c4"]),
]  # fmt: skip


def test_every_filter(store_url: str) -> None:
    async def body(store: CallStore) -> list[list[str]]:
        await write(store, CALLS)
        return [await call_ids(store, **dict(kwargs)) for kwargs, _ in FILTERS]

    assert with_store(store_url, body) == [expected for _, expected in FILTERS]


def test_cursor_paging_loses_and_duplicates_nothing(store_url: str) -> None:
    # 250 calls, three per second (ties everywhere), written in call-id order so that ids
    # increase with the number in the call id.
    many = [
        CallRecord(f"p{i:03d}", f"agent{i % 7}", 1_747_000_000 + i // 3, "SALE", "555", "",
                   "DIALER", i, i, "CALLER", "GAL", "GALSERVERS", "SERVERS")
        for i in range(250)
    ]  # fmt: skip
    ascending = [f"p{i:03d}" for i in range(250)]

    async def pages(store: CallStore, order: str, limit: int) -> list[list[str]]:
        out: list[list[str]] = []
        cursor: Cursor | None = None
        while True:
            rows = await report_rows(store, chunk_rows=4, order=order, limit=limit, cursor=cursor)
            page = rows[:limit]
            out.append([r[1] for r in page])
            if len(rows) <= limit:
                return out
            cursor = Cursor(answer_ts=page[-1][3], id=page[-1][0])

    async def body(store: CallStore) -> tuple[list[list[str]], list[list[str]]]:
        await write(store, many[:100])
        await write(store, many[100:])
        return await pages(store, "desc", 7), await pages(store, "asc", 25)

    desc, asc = with_store(store_url, body)
    assert len(desc) == 36
    assert all(len(page) == 7 for page in desc[:-1])
    assert [c for page in desc for c in page] == ascending[::-1]
    assert len(asc) == 10
    assert [c for page in asc for c in page] == ascending


def test_a_report_closed_midway_gives_its_connection_back(store_url: str) -> None:
    # One connection in the pool: a leak would make the next query wait forever.
    url = store_url if store_url.startswith("sqlite") else store_url + "?pool_size=1"

    async def body(store: CallStore) -> list[Any]:
        await write(store, CALLS)
        results: list[Any] = []
        for _ in range(3):
            stream = await store.report(ReportRequest(*EVERYTHING, tz=UTC), 2)
            async for batch in stream:
                results.append([r[1] for r in batch])
                break
            await stream.aclose()
            results.append(await asyncio.wait_for(store.count_calls(), 10))
        # Consumed to the end, too.
        results.append(len(await asyncio.wait_for(report_rows(store, chunk_rows=5), 10)))
        results.append(await asyncio.wait_for(store.count_calls(), 10))
        return results

    assert with_store(url, body) == [["c5", "c2"], 5] * 3 + [5, 5]


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_a_report_stops_at_its_deadline_and_gives_its_connection_back(
    kind: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{kind}_url") + "?pool_size=1"
    # The deadline is checked between batches: a client this slow runs past it.
    many = [
        CallRecord(f"d{i:02d}", "agent", 1_747_000_000 + i, "SALE", "555", "", "DIALER", i,
                   None, "CALLER", "GAL", "GALSERVERS", "SERVERS")
        for i in range(30)
    ]  # fmt: skip

    async def main() -> tuple[list[str], str, int]:
        async with opened(url, statement_timeout=0.5) as store:
            await write(store, many)
            stream = await store.report(ReportRequest(*EVERYTHING, tz=UTC), 10)
            seen: list[str] = []

            async def consume_slowly() -> None:
                async for batch in stream:
                    seen.extend(r[1] for r in batch)
                    await asyncio.sleep(0.6)

            with pytest.raises(DatabaseUnavailable) as failure:
                await consume_slowly()
            return seen, failure.value.message, await asyncio.wait_for(store.count_calls(), 10)

    seen, message, count = asyncio.run(main())
    assert seen == [f"d{i:02d}" for i in range(29, 19, -1)]
    assert message == "The report query ran past the statement time limit"
    assert count == 30


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_a_read_only_replica_serves_reports_and_refuses_imports(
    kind: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    database = parse_server_url(url).database
    reader = f"agentcdr_ro_{secrets.token_hex(3)}"
    # As a replica looks to agentcdr: the schema is there, and writes are refused (a hot
    # standby's sessions are read-only; a MariaDB replica user may only SELECT).
    if kind == "postgres":
        setup = [f"ALTER DATABASE {database} SET default_transaction_read_only = on"]
        cleanup: list[str] = []
        replica = url
    else:
        setup = [f"CREATE USER '{reader}'@'%'", f"GRANT SELECT ON {database}.* TO '{reader}'@'%'"]
        cleanup = [f"DROP USER '{reader}'@'%'"]
        replica = url.replace("root@", f"{reader}@")

    async def primary(store: CallStore) -> None:
        await write(store, CALLS)
        await store.users.add_user("alice", "hash", True, frozenset())  # type: ignore[attr-defined]
        for sql in setup:
            await raw_sql(store, sql)

    async def on_replica(store: CallStore) -> tuple[list[str], str]:
        users = store.users  # type: ignore[attr-defined]
        user = await users.get_user("alice")
        new = CallRecord("c9", "agent", 1, "SALE", "5", "", "MANUAL", 1, None, "", "GAL", "G", "G")
        with pytest.raises(ReadOnlyStore, match="Write to the primary"):
            await write(store, [new])
        with pytest.raises(ReadOnlyStore, match="Write to the primary"):
            await users.update_user("alice", active=False)
        return await call_ids(store, tenants=("CSC",)), user.name

    with_store(url, primary)
    try:
        assert with_store(replica, on_replica) == (["c5", "c2"], "alice")
    finally:
        for sql in cleanup:
            with_store(url, lambda store, sql=sql: raw_sql(store, sql))


# -- users -------------------------------------------------------------------------------------


def test_users_add_get_update_list(store_url: str) -> None:
    async def body(store: CallStore) -> None:
        users = store.users  # type: ignore[attr-defined]
        assert await users.get_user("alice") is None
        await users.add_user("alice", "$argon2id$hash-a", False, frozenset({"GAL", "CSC"}))
        await users.add_user("Žofia", "$argon2id$hash-z", True, frozenset())
        with pytest.raises(ConfigError, match="already exists"):
            await users.add_user("alice", "other", True, frozenset())

        alice = await users.get_user("alice")
        assert (alice.name, alice.password_hash, alice.all_tenants, alice.tenants) == (
            "alice", "$argon2id$hash-a", False, frozenset({"CSC", "GAL"}),
        )  # fmt: skip
        assert (alice.active, alice.version) == (True, 1)
        assert (type(alice.active), type(alice.version)) == (bool, int)

        await users.update_user("alice", active=False, tenants=frozenset({"XYZ"}))
        alice = await users.get_user("alice")
        assert (alice.active, alice.tenants, alice.version) == (False, frozenset({"XYZ"}), 2)
        await users.update_user("alice", password_hash="$argon2id$hash-b")
        alice = await users.get_user("alice")
        assert (alice.password_hash, alice.active, alice.version) == ("$argon2id$hash-b", False, 3)
        with pytest.raises(ConfigError, match="no such user"):
            await users.update_user("bob", active=True)

        listed = await users.list_users()
        assert [(u.name, u.all_tenants, u.version) for u in listed] == [
            ("alice", False, 3),
            ("Žofia", True, 1),
        ]

    with_store(store_url, body)


# -- unreachable servers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["postgresql://postgres@127.0.0.1:1/agentcdr", "mysql://root@127.0.0.1:1/agentcdr"]
)
def test_an_unreachable_server_is_database_unavailable(url: str) -> None:
    async def main() -> None:
        store = open_call_store(url)
        with pytest.raises(DatabaseUnavailable, match="cannot use the database"):
            await store.open()
        with pytest.raises(DatabaseUnavailable):
            await store.ping()
        with pytest.raises(DatabaseUnavailable):
            await store.report(ReportRequest(*EVERYTHING, tz=UTC), 10)
        await store.close()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [("postgres://h/db", "asyncpg", "postgres"), ("mariadb://h/db", "asyncmy", "mysql")],
)
def test_a_missing_driver_names_the_extra(
    url: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    modules = {"postgres": ["sql.postgres"], "mysql": ["sql.mariadb", "mysql"]}[extra]
    for name in modules:  # as if never imported: the driver's import runs again
        monkeypatch.delitem(sys.modules, f"agentcdr.store.{name}", raising=False)
        package, _, module = f"agentcdr.store.{name}".rpartition(".")
        monkeypatch.delattr(sys.modules[package], module, raising=False)
    with pytest.raises(ConfigError, match=rf"pip install 'agentcdr\[{extra}\]'"):
        open_call_store(url)


def test_an_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unsupported database URL scheme 'oracle'"):
        open_call_store("oracle://h/db")


# -- URLs --------------------------------------------------------------------------------------


def test_urls_decode_user_and_password() -> None:
    url = "postgres://report%40ops:p%40ss%3Aw%2Frd%25@db.example.com:6543/cdr%20db"
    assert postgres_connect_kwargs(url) == {
        "host": "db.example.com",
        "port": 6543,
        "user": "report@ops",
        "password": "p@ss:w/rd%",
        "database": "cdr db",
        "ssl": False,
    }
    assert mysql_connect_kwargs("mariadb://agentcdr:s%23cret@[::1]/calls") == {
        "host": "::1",
        "port": 3306,
        "user": "agentcdr",
        "password": "s#cret",
        "database": "calls",
        "charset": "utf8mb4",
    }
    assert mysql_connect_kwargs("mysql://root@127.0.0.1:3306/") == {
        "host": "127.0.0.1",
        "port": 3306,
        "user": "root",
        "password": "",
        "charset": "utf8mb4",
    }


def test_url_options() -> None:
    pg = postgres_connect_kwargs(
        "postgresql://u@h/d?sslmode=require&connect_timeout=5&host=/run/postgresql"
    )
    assert (pg["ssl"], pg["timeout"], pg["host"]) == ("require", 5, "/run/postgresql")
    my = mysql_connect_kwargs("mysql://u@h/d?ssl=verify-full&unix_socket=/run/mysqld.sock")
    assert my["ssl"].check_hostname is True
    assert my["unix_socket"] == "/run/mysqld.sock"
    assert mysql_connect_kwargs("mysql://u@h/d?ssl=require")["ssl"].check_hostname is False
    assert parse_server_url("mysql://u@h/d?pool_size=3").pool_size == 3
    assert parse_server_url("postgresql://u@h/d").pool_size == 10
    assert "topsecret" not in repr(parse_server_url("mysql://u:topsecret@h/d"))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u@h/d?sslmod=require", "unknown database URL option"),
        ("mysql://u@h/d?ssl=prefer", "ssl='prefer'"),
        ("mysql://u@h:notaport/d", "bad port"),
        ("mysql://u@h/d?pool_size=0", "pool_size"),
        ("sqlite:///x.db", "not a PostgreSQL or MySQL"),
    ],
)
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    connect_kwargs = mysql_connect_kwargs if url.startswith("mysql") else postgres_connect_kwargs

    def parse() -> None:
        connect_kwargs(url)
        assert parse_server_url(url).pool_size

    with pytest.raises(ConfigError, match=message):
        parse()


def test_mysql_reads_in_keyset_pages_that_lose_and_repeat_nothing(
    mysql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentcdr.store import stream

    monkeypatch.setattr(stream, "PAGE_ROWS", 4)  # pages of 4 rows, batches of 3: never aligned
    many = [
        CallRecord(f"k{i:02d}", "agent", 1_747_000_000 + i // 3, "SALE", "555", "", "DIALER",
                   i, i, "CALLER", "GAL", "GALSERVERS", "SERVERS")
        for i in range(23)
    ]  # fmt: skip
    ascending = [f"k{i:02d}" for i in range(23)]

    async def body(store: CallStore) -> tuple[list[str], list[str], list[str]]:
        await write(store, many)
        desc = await call_ids(store, chunk_rows=3)
        asc = await call_ids(store, chunk_rows=3, order="asc")
        limited = await call_ids(store, chunk_rows=3, order="asc", limit=9)
        return desc, asc, limited

    desc, asc, limited = with_store(mysql_url, body)
    assert desc == ascending[::-1]
    assert asc == ascending
    assert limited == ascending[:10]  # limit + 1: the extra row says that more remain
