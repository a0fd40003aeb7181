"""A call's identity across every way it comes in (import, demo data, sync), the record of
imports, dry runs, removing what one import added, and the migration of older stores."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from agentcdr.cli import main
from agentcdr.records import natural_key
from agentcdr.store.sql.schema import LATEST, MYSQL, POSTGRESQL, SQLITE, Dialect, _v1
from agentcdr.store.sql.urls import mysql_connect_kwargs, postgres_connect_kwargs
from tests.conftest import ApiHarness
from tests.seed import PASSWORD, rows_of

TZ = "America/New_York"
DEMO = (
    "demo",
    "--days",
    "3",
    "--agents",
    "30",
    "--calls-per-day",
    "200",
    "--end-day",
    "2025-05-13",
)
DAYS = {"fromDate": "2025-05-11", "toDate": "2025-05-13"}


def cli(url: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--db", url, "--tz", TZ, *args], input=input)


def calls_in(url: str) -> int:
    return int(rows_of(url, "SELECT COUNT(*) FROM calls")[0][0])


@pytest.fixture
def demo_api(store_url: str, open_api: Callable[..., ApiHarness]) -> ApiHarness:
    assert cli(store_url, *DEMO).exit_code == 0
    added = cli(store_url, "users", "add", "admin", "--all-tenants", "--password-stdin", input=f"{PASSWORD}\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    return open_api(store_url)


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("json", ".json"), ("csv", ".csv"), ("ndjson", ".ndjson")]
)
def test_a_report_exported_and_imported_again_adds_nothing(
    demo_api: ApiHarness, tmp_path: Path, fmt: str, suffix: str
) -> None:
    before = calls_in(demo_api.url)
    assert before == 600
    export = tmp_path / f"export{suffix}"
    export.write_bytes(demo_api.post(responsetype=fmt, **DAYS).content)
    result = cli(demo_api.url, "import", str(export))
    assert result.exit_code == 0, result.output
    assert "600 rows: 0 inserted, 0 updated, 600 unchanged" in result.output
    assert calls_in(demo_api.url) == before


def test_an_export_with_call_ids_imports_to_the_same_calls(
    demo_api: ApiHarness, tmp_path: Path
) -> None:
    export = tmp_path / "export.csv"
    fields = "call_id,user,answer_time,disposition,phone_number,loan_number,call_type,call_duration,lead_id,term_reason,portfolio,campaign_name"  # fmt: skip
    export.write_bytes(demo_api.post(responsetype="csv", fields=fields, **DAYS).content)
    assert all(line.startswith("nk:") for line in export.read_text().splitlines()[1:])
    result = cli(demo_api.url, "import", str(export))
    assert "600 rows: 0 inserted, 0 updated, 600 unchanged" in result.output


def test_dry_run_counts_and_writes_nothing(store_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "calls.csv"
    assert cli(store_url, *DEMO, "--csv", str(csv)).exit_code == 0
    assert cli(store_url, *DEMO).exit_code == 0  # the same calls, already stored
    other = tmp_path / "other.csv"
    assert cli(store_url, *DEMO[:-2], "--end-day", "2025-06-01", "--csv", str(other)).exit_code == 0
    entries = rows_of(store_url, "SELECT COUNT(*) FROM imports")
    dry = cli(store_url, "import", str(csv), str(other), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output == (
        f"{csv}: 600 rows: would insert 0, update 0, leave 600 unchanged (dry run: nothing was written)\n"
        f"{other}: 600 rows: would insert 600, update 0, leave 0 unchanged (dry run: nothing was written)\n"
    )
    assert calls_in(store_url) == 600
    assert rows_of(store_url, "SELECT COUNT(*) FROM imports") == entries


def test_removing_what_one_import_added(store_url: str, tmp_path: Path) -> None:
    assert cli(store_url, *DEMO).exit_code == 0
    june = tmp_path / "june.csv"
    assert cli(store_url, *DEMO[:-2], "--end-day", "2025-06-01", "--csv", str(june)).exit_code == 0
    imported = cli(store_url, "import", str(june), "--source", "branch2")
    assert "(import 2," in imported.output, imported.output
    listing = cli(store_url, "imports", "list").output.splitlines()
    assert listing[0].split("\t")[:3] == ["id", "started", "kind"]
    assert [line.split("\t")[2:9:2] for line in listing[1:]] == [
        ["demo", "600", "0", "-"],  # kind, inserted, unchanged, removed
        ["import", "600", "0", "-"],
    ]
    removed = cli(store_url, "imports", "remove", "2", "--yes")
    assert removed.output == f"removed 600 calls of import 2 (import {june})\n"
    assert calls_in(store_url) == 600
    assert cli(store_url, "imports", "list").output.splitlines()[2].split("\t")[7] == "0"
    # By source; asking first, and refusing without a yes.
    assert cli(store_url, "import", str(june), "--source", "branch2").exit_code == 0
    refused = cli(store_url, "imports", "remove", "--source", "branch2", input="n\n")
    assert refused.exit_code == 1
    assert "Remove 600 calls of source 'branch2'? [y/N]" in refused.output
    assert calls_in(store_url) == 1200
    assert cli(store_url, "imports", "remove", "--source", "branch2", input="y\n").exit_code == 0
    assert calls_in(store_url) == 600
    # The import whose calls went with its source is marked removed too; the demo's is not.
    removed_column = [
        line.split("\t")[8] != "-"
        for line in cli(store_url, "imports", "list").output.splitlines()[1:]
    ]
    assert removed_column == [False, True, True]
    nothing = cli(store_url, "imports", "remove", "7", "--yes")
    assert (nothing.exit_code, nothing.output) == (
        1,
        "agentcdr: error: no import 7 (agentcdr imports list shows them)\n",
    )
    both = cli(store_url, "imports", "remove", "2", "--source", "x")
    assert both.output == "agentcdr: error: give either an IMPORT_ID or --source NAME\n"


def test_an_update_keeps_the_import_that_added_the_call(sqlite_url: str, tmp_path: Path) -> None:
    header = "call_id,user,answer_time,disposition,phone_number,loan_number,call_type,call_duration,lead_id,term_reason,portfolio,campaign_name"  # fmt: skip
    first = tmp_path / "first.csv"
    first.write_text(f"{header}\nc1,Ann,2025-05-13 10:00:00,RPC,5551234567,,MANUAL,00:01:00,,AGENT,GAL,GALSERVERS\n")  # fmt: skip
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(first.read_text().replace("RPC", "PTP"))
    assert "1 inserted" in cli(sqlite_url, "import", str(first)).output
    assert "1 updated" in cli(sqlite_url, "import", str(fixed)).output
    assert cli(sqlite_url, "imports", "remove", "2", "--yes").output.startswith("removed 0 calls")
    assert rows_of(sqlite_url, "SELECT disposition, import_id FROM calls") == [("PTP", 1)]
    assert cli(sqlite_url, "imports", "remove", "1", "--yes").output.startswith("removed 1 calls")


# -- the migration of stores made before the record of imports -------------------------------


async def _raw(url: str, dialect: Dialect, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Statements on a fresh database, by the driver alone (no agentcdr store)."""
    if dialect is SQLITE:
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            for sql, params in statements:
                db.execute(sql, params)
        return
    if dialect is POSTGRESQL:
        import asyncpg

        conn = await asyncpg.connect(**postgres_connect_kwargs(url))
        try:
            for sql, params in statements:
                await conn.execute(sql, *params)
        finally:
            await conn.close()
        return
    import asyncmy

    my = await asyncmy.connect(**mysql_connect_kwargs(url), autocommit=True)
    try:
        async with my.cursor() as cur:
            for sql, params in statements:
                await cur.execute(sql, params or None)
    finally:
        my.close()


def test_older_stores_are_rekeyed_without_duplicates(store_url: str) -> None:
    dialect = {"sqlite": SQLITE, "postgresql": POSTGRESQL, "mysql": MYSQL}[
        store_url.split(":", maxsplit=1)[0]
    ]
    marks = ", ".join(dialect.placeholders(17))
    insert = (
        "INSERT INTO calls (source, call_id, agent, agent_key, answer_ts, disposition, "
        "phone_number, loan_number, call_type, duration_sec, lead_id, term_reason, portfolio, "
        f"campaign_name, profile, inserted_at, updated_at) VALUES ({marks})"
    )

    def old(source: str, call_id: str, ts: int, lead: int | None) -> tuple[str, tuple[Any, ...]]:
        values = ("Ann", "ann", ts, "RPC", "5551234567", "", "MANUAL", 60, lead, "AGENT", "GAL", "GALSERVERS", "SERVERS", 1, 1)  # fmt: skip
        return insert, (source, call_id, *values)

    statements = [(sql, ()) for sql in _v1(dialect)]
    statements.append(
        (
            f"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL){dialect.table_suffix}",
            (),
        )
    )
    statements.append(("INSERT INTO schema_migrations VALUES (1, 1)", ()))
    statements += [
        old("demo", "demo-1", 1_747_000_000, 1),  # demo data of an older agentcdr
        old(
            "", natural_key("Ann", 1_747_000_000, "5551234567", 1, "GALSERVERS"), 1_747_000_000, 1
        ),  # the same call, imported
        old("remote:8080", "nk-0a1b2c", 1_747_000_100, None),  # the client's old recipe
        old("branch2", "pbx-77", 1_747_000_200, 2),  # a real id: left alone
        old("branch2", "demo-day", 1_747_000_250, 2),  # "demo-" but not the demo's: left alone
        # A sync mirror of an older server's demo data, and its later sync of the same call
        # once the server was upgraded (its call_id is now the natural key).
        old("cdr:8080", "demo-7", 1_747_000_300, 3),
        old(
            "cdr:8080",
            natural_key("Ann", 1_747_000_300, "5551234567", 3, "GALSERVERS"),
            1_747_000_300,
            3,
        ),
        # The older `demo --csv` file imported without a source.
        old("", "demo-9", 1_747_000_400, 4),
    ]
    asyncio.run(_raw(store_url, dialect, statements))
    assert rows_of(
        store_url, "SELECT source, call_id, import_id FROM calls ORDER BY answer_ts, source"
    ) == [
        ("", natural_key("Ann", 1_747_000_000, "5551234567", 1, "GALSERVERS"), None),
        ("remote:8080", natural_key("Ann", 1_747_000_100, "5551234567", None, "GALSERVERS"), None),
        ("branch2", "pbx-77", None),
        ("branch2", "demo-day", None),
        ("cdr:8080", natural_key("Ann", 1_747_000_300, "5551234567", 3, "GALSERVERS"), None),
        ("", natural_key("Ann", 1_747_000_400, "5551234567", 4, "GALSERVERS"), None),
    ]
    assert rows_of(store_url, "SELECT version FROM schema_migrations ORDER BY version") == [
        (v,) for v in range(1, LATEST + 1)
    ]
