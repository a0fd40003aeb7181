"""Tables, indexes and versioned migrations of agentcdr's own store, for every dialect.

Migrations are numbered and applied in order inside ``schema_migrations``; a store opened on
a database newer than this code refuses to run. Types differ per dialect only where they
must (auto-increment keys, text lengths); names and indexes are the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Dialect:
    name: str
    id_column: str  # the auto-increment primary key
    text_type: str  # unbounded text (or a long VARCHAR where the database wants bounds)
    bool_type: str
    table_suffix: str = ""

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


# Append new migrations; never edit one that has shipped.
MIGRATIONS: Final = (_v1,)
LATEST: Final = len(MIGRATIONS)


def migrations_table(d: Dialect) -> str:
    return (
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        f"version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL){d.table_suffix}"
    )


def pending(d: Dialect, current: int) -> list[tuple[int, list[str]]]:
    """The migrations after ``current``, each with its statements."""
    return [(n, MIGRATIONS[n - 1](d)) for n in range(current + 1, LATEST + 1)]
