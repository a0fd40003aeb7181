"""Tables, indexes and versioned migrations of agentcdr's own store, for every dialect.

Migrations are numbered and applied in order inside ``schema_migrations``; a store opened on
a database newer than this code refuses to run. Types differ per dialect only where they
must (auto-increment keys, text lengths); names and indexes are the same everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from agentcdr.errors import ConfigError
from agentcdr.records import natural_key


@dataclass(frozen=True)
class Dialect:
    name: str
    id_column: str  # the auto-increment primary key
    text_type: str  # unbounded text (or a long VARCHAR where the database wants bounds)
    bool_type: str
    table_suffix: str = ""

    def intdiv(self, numerator: str, divisor: int) -> str:
        """Integer division of a non-negative integer expression."""
        return f"(({numerator}) {'DIV' if self.name == 'mysql' else '/'} {divisor})"

    def mod(self, expression: str, divisor: int) -> str:
        """The remainder (``%`` would be a placeholder's start for the MySQL driver)."""
        if self.name == "sqlite":
            return f"(({expression}) % {divisor})"  # SQLite has no MOD() unless built with it
        return f"MOD({expression}, {divisor})"

    def placeholders(self, count: int, start: int = 1) -> list[str]:
        if self.name == "postgresql":
            return [f"${i}" for i in range(start, start + count)]
        if self.name == "mysql":
            return ["%s"] * count
        return ["?"] * count


SQLITE: Final = Dialect("sqlite", "id INTEGER PRIMARY KEY", "TEXT", "INTEGER")
POSTGRESQL: Final = Dialect("postgresql", "id BIGSERIAL PRIMARY KEY", "TEXT", "BOOLEAN")
MYSQL: Final = Dialect(
    "mysql",
    "id BIGINT AUTO_INCREMENT PRIMARY KEY",
    "VARCHAR(1000)",
    "BOOLEAN",
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
)


def _v1(d: Dialect) -> list[str]:
    # answer_ts and the stamps are UTC epoch seconds: the report renders them in any zone.
    # agent_key is the lower-cased agent name, so that case-insensitive user filters are
    # index range scans on every database without collation tricks.
    return [
        f"""CREATE TABLE calls (
            {d.id_column},
            source VARCHAR(64) NOT NULL DEFAULT '',
            call_id VARCHAR(64) NOT NULL,
            agent VARCHAR(64) NOT NULL,
            agent_key VARCHAR(64) NOT NULL,
            answer_ts BIGINT NOT NULL,
            disposition VARCHAR(100) NOT NULL DEFAULT '',
            phone_number VARCHAR(32) NOT NULL DEFAULT '',
            loan_number VARCHAR(100) NOT NULL DEFAULT '',
            call_type VARCHAR(16) NOT NULL,
            duration_sec INTEGER NOT NULL,
            lead_id BIGINT,
            term_reason VARCHAR(32) NOT NULL DEFAULT '',
            portfolio VARCHAR(3) NOT NULL,
            campaign_name VARCHAR(100) NOT NULL,
            profile VARCHAR(100) NOT NULL DEFAULT '',
            inserted_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            UNIQUE (source, call_id)
        ){d.table_suffix}""",
        "CREATE INDEX calls_answer ON calls (answer_ts, id)",
        "CREATE INDEX calls_portfolio ON calls (portfolio, answer_ts, id)",
        "CREATE INDEX calls_agent ON calls (agent_key, answer_ts, id)",
        "CREATE INDEX calls_profile ON calls (profile, answer_ts, id)",
        "CREATE INDEX calls_updated ON calls (updated_at)",
        f"""CREATE TABLE api_users (
            {d.id_column},
            name VARCHAR(64) NOT NULL UNIQUE,
            password_hash VARCHAR(255) NOT NULL,
            all_tenants {d.bool_type} NOT NULL,
            tenants {d.text_type} NOT NULL,
            active {d.bool_type} NOT NULL,
            version INTEGER NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        ){d.table_suffix}""",
    ]


class MigrationSession(Protocol):
    """One connection holding the migration lock (and, where the database has transactional
    DDL, the migration's transaction)."""

    async def run(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    async def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


# A migration step: a statement, or code that needs to look at the data (run on the session).
Step = str | Callable[[MigrationSession, Dialect], Awaitable[None]]

_REKEY_BATCH: Final = 1000


async def _rekey(session: MigrationSession, d: Dialect) -> None:
    """Gives the calls that had an id made by a recipe other than ``records.natural_key``
    their natural key, so that writing them again (an import of an export, a sync) finds
    them: the client's old ``nk-`` keys (made from wall-clock text, so they changed with the
    zone) and demo calls (``demo-N``: under source ``demo`` in the store that made them, under
    no source where the old ``demo --csv`` file was imported, under the remote's host in a
    ``sync`` mirror of them). A call whose new key is taken already was stored twice: the
    copy is removed."""
    mark = d.placeholders(1)[0]
    m1, m2, m3 = d.placeholders(3)
    found = [
        row
        for row in await session.rows(
            "SELECT id, source, call_id, agent, answer_ts, phone_number, lead_id, "
            f"campaign_name FROM calls WHERE call_id LIKE {m1} OR call_id LIKE {m2} ORDER BY id",
            ("nk-%", "demo-%"),
        )
        # Only the old demo generator's ids: "demo-" and digits.
        if row[2].startswith("nk-") or row[2][5:].isdigit()
    ]
    for start in range(0, len(found), _REKEY_BATCH):
        moves: dict[tuple[str, str], int] = {}
        duplicates: list[int] = []
        for row_id, source, call_id, agent, answer_ts, phone, lead_id, campaign in found[
            start : start + _REKEY_BATCH
        ]:
            new_source = "" if source == "demo" and call_id.startswith("demo-") else source
            key = (new_source, natural_key(agent, int(answer_ts), phone, lead_id, campaign))
            if key in moves:
                duplicates.append(row_id)
            else:
                moves[key] = row_id
        for new_key, row_id in list(moves.items()):
            taken = await session.rows(
                f"SELECT id FROM calls WHERE source = {m1} AND call_id = {m2}", new_key
            )
            if taken and taken[0][0] != row_id:
                duplicates.append(row_id)
                del moves[new_key]
        if moves:
            await session.run_many(
                f"UPDATE calls SET source = {m1}, call_id = {m2} WHERE id = {m3}",
                [(*new_key, row_id) for new_key, row_id in moves.items()],
            )
        if duplicates:
            await session.run_many(
                f"DELETE FROM calls WHERE id = {mark}", [(row_id,) for row_id in duplicates]
            )


def _v2(d: Dialect) -> list[Step]:
    # Every write transaction (an import, demo data, a sync) is recorded, and the calls it
    # inserted carry its id, so that what one import added can be removed again.
    return [
        f"""CREATE TABLE imports (
            {d.id_column},
            kind VARCHAR(16) NOT NULL,
            name {d.text_type} NOT NULL,
            source VARCHAR(64) NOT NULL,
            started_at BIGINT NOT NULL,
            inserted BIGINT NOT NULL DEFAULT 0,
            updated BIGINT NOT NULL DEFAULT 0,
            unchanged BIGINT NOT NULL DEFAULT 0,
            removed_at BIGINT
        ){d.table_suffix}""",
        "ALTER TABLE calls ADD COLUMN import_id BIGINT",
        "CREATE INDEX calls_import ON calls (import_id)",
        _rekey,
    ]


def _v3(d: Dialect) -> list[Step]:
    # SQLite: the unique key of calls becomes an index of its own, which a first load can
    # drop and build once the rows are in, as PostgreSQL and MariaDB can their constraint.
    # SQLite cannot drop a table's constraint, so the table is made again (same columns, in
    # the same order, and the same ids).
    if d.name != "sqlite":
        return []
    v1_table = _v1(d)[0]
    keyless = v1_table.replace("CREATE TABLE calls (", "CREATE TABLE calls_v3 (", 1).replace(
        ",\n            UNIQUE (source, call_id)\n", ",\n            import_id BIGINT\n", 1
    )
    if "UNIQUE" in keyless or "calls_v3" not in keyless:
        raise RuntimeError("migration 3 expects the calls table of migration 1")
    return [
        keyless,
        "INSERT INTO calls_v3 SELECT * FROM calls",
        "DROP TABLE calls",
        "ALTER TABLE calls_v3 RENAME TO calls",
        UNIQUE_KEY,
        *(create_index(name) for name in CALL_INDEXES),
    ]


# Append new migrations; never edit one that has shipped.
MIGRATIONS: Final[tuple[Callable[[Dialect], Sequence[Step]], ...]] = (_v1, _v2, _v3)
LATEST: Final = len(MIGRATIONS)


# The secondary indexes of ``calls`` as the migrations leave them (name -> columns), the same
# on every database (a test compares them with the live schemas). A first load into an empty
# table drops them and builds them once the rows are in; the unique (source, call_id) key
# stays, as every upsert needs it.
CALL_INDEXES: Final = {
    "calls_answer": "answer_ts, id",
    "calls_portfolio": "portfolio, answer_ts, id",
    "calls_agent": "agent_key, answer_ts, id",
    "calls_profile": "profile, answer_ts, id",
    "calls_updated": "updated_at",
    "calls_import": "import_id",
}


# SQLite's unique key of calls (an index since migration 3; PostgreSQL and MariaDB keep the
# table constraint of migration 1).
UNIQUE_KEY: Final = "CREATE UNIQUE INDEX calls_key ON calls (source, call_id)"


def create_index(name: str) -> str:
    """The statement that builds one of ``CALL_INDEXES``."""
    return f"CREATE INDEX {name} ON calls ({CALL_INDEXES[name]})"


def newer_schema(version: int) -> ConfigError:
    return ConfigError(
        f"database schema version {version} is newer than this agentcdr ({LATEST}); "
        "upgrade agentcdr"
    )


async def migrate(session: MigrationSession, d: Dialect) -> None:
    """Brings the schema to ``LATEST``, the same way on every database; the caller holds the
    lock (and the transaction, where the database has transactional DDL)."""
    await session.run(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        f"version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL){d.table_suffix}"
    )
    rows = await session.rows("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    version = int(rows[0][0])
    if version > LATEST:
        raise newer_schema(version)
    marks = ", ".join(d.placeholders(2))
    for number in range(version + 1, LATEST + 1):
        for step in MIGRATIONS[number - 1](d):
            if isinstance(step, str):
                await session.run(step)
            else:
                await step(session, d)
        await session.run(
            f"INSERT INTO schema_migrations VALUES ({marks})", (number, int(time.time()))
        )
