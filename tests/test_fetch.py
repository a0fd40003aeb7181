"""``agentcdr fetch`` and ``agentcdr sync`` against agentcdr's own server over a real socket,
directly and behind a proxy that fails requests; the report files and the mirror are
compared with the server's store."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from click.testing import CliRunner, Result

from agentcdr.cli import main
from agentcdr.records import ALL_FIELDS, DEFAULT_FIELDS
from agentcdr.store import open_call_store
from tests.remote import CALLS, FIRST, LAST, FaultyProxy, live, store_ids
from tests.seed import PASSWORD, TZ, add_calls, call

__all__ = ["live"]  # the module-scoped server fixture, shared with test_client_server

pytestmark = pytest.mark.socket


def agentcdr(
    *args: str,
    password: str | None = PASSWORD,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> Result:
    """Run the CLI in-process; the password arrives with --password-stdin unless ``password``
    is None (then ``stdin`` is what a prompt reads)."""
    argv = list(args)
    if password is not None:
        argv.append("--password-stdin")
        stdin = f"{password}\n"
    return CliRunner().invoke(main, argv, input=stdin, env=env or {})


def fetch(url: str, output: Path, *extra: str, last: str = LAST, **kw: Any) -> Result:
    command = ["fetch", "--url", url, "--goUser", "api", "--from", FIRST, "--to", last]
    return agentcdr(*command, "-o", str(output), *extra, **kw)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.mark.parametrize("name", ["report.csv", "report.json", "report.ndjson", "report.parquet"])
def test_fetch_writes_each_format_from_the_extension(
    live: tuple[str, str], tmp_path: Path, name: str
) -> None:
    url, db_url = live
    output = tmp_path / name
    result = ok(fetch(url, output, "--fields", "all"))
    assert f"wrote {len(CALLS)} rows" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no .part, no state left
    if name.endswith(".csv"):
        rows = list(csv.DictReader(io.StringIO(output.read_text())))
        assert list(rows[0]) == list(ALL_FIELDS)
        ids = [r["call_id"] for r in rows]
        assert {r["lead_id"] for r in rows if r["call_id"] == "g00000"} == {""}
    elif name.endswith(".json"):
        body = orjson.loads(output.read_bytes())
        assert body["result"] == "success"
        assert [h["field"] for h in body["data"]["headers"]] == list(ALL_FIELDS)
        assert body["data"]["headers"][1] == {
            "title": "ANSWER TIME",
            "field": "answer_time",
            "formatter": "html",
        }
        ids = [r["call_id"] for r in body["data"]["rows"]]
        assert isinstance(body["data"]["rows"][0]["call_duration_sec"], int)
    elif name.endswith(".ndjson"):
        rows = [orjson.loads(line) for line in output.read_bytes().splitlines()]
        ids = [r["call_id"] for r in rows]
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(output)
        assert table.column_names == list(ALL_FIELDS)
        assert str(table.schema.field("lead_id").type) == "int64"
        ids = table.column("call_id").to_pylist()
    assert len(ids) == len(set(ids))
    assert set(ids) == store_ids(db_url)


def test_fetch_defaults_to_the_documented_columns_and_filters(
    live: tuple[str, str], tmp_path: Path
) -> None:
    url, _ = live
    output = tmp_path / "agents.txt"
    ok(fetch(url, output, "--format", "json", "--user", "agent.1,Agent.2", "--tenant", "GAL"))
    rows = orjson.loads(output.read_bytes())["data"]["rows"]
    assert list(rows[0]) == list(DEFAULT_FIELDS)
    expected = [c for c in CALLS if c.user in ("Agent.1", "Agent.2") and c.portfolio == "GAL"]
    assert len(rows) == len(expected)
    assert {r["user"] for r in rows} == {"Agent.1", "Agent.2"}


def test_fetched_csv_imports_into_a_store(live: tuple[str, str], tmp_path: Path) -> None:
    ingest = pytest.importorskip("agentcdr.ingest")
    url, db_url = live
    output = tmp_path / "report.csv"
    ok(fetch(url, output, "--fields", "all"))
    local = f"sqlite:///{tmp_path / 'local.db'}"

    async def load() -> int:
        store = open_call_store(local)
        await store.open()
        try:
            result = await ingest.import_file(store, output, tz=TZ)
            return int(result.counts.inserted)
        finally:
            await store.close()

    assert asyncio.run(load()) == len(CALLS)
    assert store_ids(local) == store_ids(db_url)


def test_a_failed_fetch_leaves_no_report_and_resumes(live: tuple[str, str], tmp_path: Path) -> None:
    url, db_url = live
    output = tmp_path / "report.ndjson"
    # Two days go through, then every connection of the third is cut mid-body.
    proxy = FaultyProxy(url, ["pass", "pass", "cut:3000", "cut:3000"])
    try:
        failed = fetch(proxy.url, output, "--fields", "all", "--max-retries", "1")
        assert failed.exit_code == 1
        assert failed.stderr.startswith("agentcdr: error:")
        assert len(failed.stderr.strip().splitlines()) == 1
        assert not output.exists()
        state = orjson.loads((tmp_path / "report.ndjson.state.json").read_bytes())
        assert state["done"] == ["2025-05-14", "2025-05-15"]
        part = tmp_path / "report.ndjson.part"
        assert part.stat().st_size == state["offset"]
        # As if the process had died mid-write: resuming cuts the file back to the offset.
        with part.open("ab") as f:
            f.write(b'{"user":"half a row')

        before = len(proxy.actions)
        ok(fetch(proxy.url, output, "--fields", "all"))
        assert len(proxy.actions) - before == 4  # only the four days not yet finished
    finally:
        proxy.close()
    ids = [orjson.loads(line)["call_id"] for line in output.read_bytes().splitlines()]
    assert len(ids) == len(set(ids))
    assert set(ids) == store_ids(db_url)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.ndjson"]


def test_restart_ignores_an_earlier_run(live: tuple[str, str], tmp_path: Path) -> None:
    url, _ = live
    output = tmp_path / "report.csv"
    (tmp_path / "report.csv.part").write_bytes(b"garbage")
    (tmp_path / "report.csv.state.json").write_bytes(b"{not json")
    ok(fetch(url, output, "--restart"))
    assert output.read_text().startswith("user,answer_time,")


def test_passwords_come_from_env_or_a_prompt_never_an_argument(
    live: tuple[str, str], tmp_path: Path
) -> None:
    url, _ = live
    ok(fetch(url, tmp_path / "a.csv", password=None, env={"AGENTCDR_PASSWORD": PASSWORD}))
    prompted = fetch(url, tmp_path / "b.csv", last=FIRST, password=None, stdin=f"{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.stderr
    assert "Password" in prompted.stderr
    assert PASSWORD not in prompted.output + prompted.stderr
    no_option = agentcdr("fetch", "--goPass", PASSWORD, password=None)
    assert no_option.exit_code == 2
    wrong = fetch(url, tmp_path / "c.csv", password="wrong password")
    assert wrong.exit_code == 1
    assert wrong.stderr == "agentcdr: error: Invalid Username/Password\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]  # nothing to resume


def test_user_and_url_from_the_environment(live: tuple[str, str], tmp_path: Path) -> None:
    url, _ = live
    result = agentcdr(
        "fetch",
        "--from",
        FIRST,
        "--to",
        FIRST,
        "-o",
        str(tmp_path / "r.csv"),
        "--progress",
        env={"AGENTCDR_URL": url, "AGENTCDR_USER": "api"},
    )
    ok(result)
    assert "1/1 spans" in result.stderr
    assert "rows" in result.stderr
    assert "\r" not in result.stderr  # not a terminal: a line per span, for log files


def test_output_format_errors(
    live: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = live
    unknown = fetch(url, tmp_path / "report.xlsx")
    assert unknown.exit_code == 1
    assert "--format" in unknown.stderr
    bad_field = fetch(url, tmp_path / "r.csv", "--fields", "user,nope")
    assert bad_field.exit_code == 1
    assert "nope" in bad_field.stderr
    backwards = fetch(url, tmp_path / "r.csv", last="2025-05-01")
    assert backwards.exit_code == 1
    assert (
        backwards.stderr
        == "agentcdr: error: --from: 2025-05-10 is after the last day, 2025-05-01\n"
    )
    ndjson_pages = fetch(url, tmp_path / "r.csv", "--page-size", "5", "--response-format", "ndjson")
    assert ndjson_pages.exit_code == 1
    assert "cursor" in ndjson_pages.stderr
    bad_tenant = fetch(url, tmp_path / "r.csv", "--tenant", "GAL,TOOLONG")
    assert bad_tenant.exit_code == 1
    assert bad_tenant.stderr == (
        "agentcdr: error: --tenant: 'TOOLONG' is not a tenant code (3 letters or digits)\n"
    )
    bad_zone = fetch(url, tmp_path / "r.csv", "--tz", "Mars/Olympus")
    assert bad_zone.exit_code == 2
    assert "Mars/Olympus" in bad_zone.stderr
    missing_dir = fetch(url, tmp_path / "nowhere" / "r.csv")
    assert missing_dir.exit_code == 1
    assert "cannot write" in missing_dir.stderr
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    no_arrow = fetch(url, tmp_path / "report.parquet")
    assert no_arrow.exit_code == 1
    assert "agentcdr[parquet]" in no_arrow.stderr
    assert list(tmp_path.iterdir()) == []


# -- sync ----------------------------------------------------------------------------------------


def sync(url: str, db: str, *extra: str) -> Result:
    # UTC days: the New York calls of 2025-05-15 evening are on 2025-05-16.
    return agentcdr(
        "--db",
        db,
        "sync",
        "--url",
        url,
        "--goUser",
        "api",
        "--from",
        FIRST,
        "--to",
        "2025-05-16",
        *extra,
    )


def sources(db_url: str) -> dict[str, int]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as db:
        return dict(db.execute("SELECT source, COUNT(*) FROM calls GROUP BY source").fetchall())


def test_sync_mirrors_once_and_then_adds_nothing(live: tuple[str, str], tmp_path: Path) -> None:
    url, db_url = live
    local = f"sqlite:///{tmp_path / 'local.db'}"
    add_calls(local, [call("g00000", "Local.Agent", "2025-05-10 09:00:00", "GALSERVERS")])
    host = url.removeprefix("http://")

    first = ok(sync(url, local))
    assert f"{len(CALLS)} new, 0 updated, 0 unchanged" in first.stderr
    assert sources(local) == {"": 1, host: len(CALLS)}  # ids never clash with local imports
    assert store_ids(local, f"source = '{host}'") == store_ids(db_url)
    with sqlite3.connect(local.removeprefix("sqlite:///")) as db:
        mirrored = db.execute(
            "SELECT answer_ts, duration_sec, lead_id, profile FROM calls WHERE source = ? ORDER BY call_id",
            (host,),
        ).fetchall()
    assert mirrored == [
        (c.answer_ts, c.call_duration_sec, c.lead_id, c.profile)
        for c in sorted(CALLS, key=lambda c: c.call_id)
    ]
    state = orjson.loads((tmp_path / f"local.db.sync-{host.replace(':', '_')}.json").read_bytes())
    assert len(state["done"]) == 7
    assert state["synced_at"]

    again = ok(sync(url, local))
    assert "synced 0 rows in 0 spans" in again.stderr  # every day finished already
    assert sources(local) == {"": 1, host: len(CALLS)}


def test_sync_changes_pulls_updates(live: tuple[str, str], tmp_path: Path) -> None:
    url, db_url = live
    local = f"sqlite:///{tmp_path / 'local.db'}"
    ok(sync(url, local))
    changed = next(c for c in CALLS if c.call_id == "g03007")
    add_calls(
        db_url,
        [call("g03007", changed.user, "2025-05-13 07:49:07", "GALSERVERS", disposition="Changed")],
    )
    try:
        result = ok(sync(url, local, "--changes"))
        assert "1 updated" in result.stderr
        with sqlite3.connect(local.removeprefix("sqlite:///")) as db:
            (disposition,) = db.execute(
                "SELECT disposition FROM calls WHERE call_id = 'g03007'"
            ).fetchone()
        assert disposition == "Changed"
    finally:
        add_calls(db_url, [changed])
    no_state = agentcdr(
        "--db",
        f"sqlite:///{tmp_path / 'other.db'}",
        "sync",
        "--url",
        url,
        "--goUser",
        "api",
        "--from",
        FIRST,
        "--changes",
    )
    assert no_state.exit_code == 1
    assert "without --changes first" in no_state.stderr


def test_sync_through_failures_resumes_without_loss(live: tuple[str, str], tmp_path: Path) -> None:
    url, db_url = live
    local = f"sqlite:///{tmp_path / 'local.db'}"
    state = tmp_path / "sync-state.json"
    proxy = FaultyProxy(url, ["pass", "429", "cut:2500", "503", "pass", "cut:2000", "cut:2000"])
    try:
        failed = sync(proxy.url, local, "--state", str(state), "--max-retries", "1")
        assert failed.exit_code == 1
        done = orjson.loads(state.read_bytes())["done"]
        assert 0 < len(done) < 7
        ok(sync(proxy.url, local, "--state", str(state), "--page-size", "8"))
    finally:
        proxy.close()
    host = proxy.url.removeprefix("http://")
    assert store_ids(local, f"source = '{host}'") == store_ids(db_url)
    assert sources(local) == {host: len(CALLS)}


def test_sync_answer_times_survive_any_zone(live: tuple[str, str], tmp_path: Path) -> None:
    url, _db_url = live
    local = f"sqlite:///{tmp_path / 'local.db'}"
    ok(sync(url, local, "--tz", "Asia/Kolkata"))
    with sqlite3.connect(local.removeprefix("sqlite:///")) as db:
        got = dict(db.execute("SELECT call_id, answer_ts FROM calls").fetchall())
    assert got == {
        c.call_id: c.answer_ts
        for c in CALLS
        if c.answer_ts >= _midnight("2025-05-10", "Asia/Kolkata")
    }


def _midnight(day: str, zone: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone)).timestamp())
