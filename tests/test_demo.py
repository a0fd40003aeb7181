"""Demo data: deterministic, realistic in shape, and loadable by store and by CSV import."""

from __future__ import annotations

import re
import sqlite3
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import median
from zoneinfo import ZoneInfo

from click.testing import CliRunner, Result

from agentcdr.cli import main
from agentcdr.demo import CSV_HEADER, DISPOSITIONS, generate
from agentcdr.records import CallRecord, natural_key
from tests.seed import rows_of

TZ = ZoneInfo("America/New_York")
END = date(2025, 5, 13)  # a Tuesday


def cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["--db", url, "--tz", "America/New_York", *args], catch_exceptions=False
    )


def stored(url: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute(
            "SELECT call_id, agent, answer_ts, disposition, phone_number, loan_number, "
            "call_type, duration_sec, lead_id, term_reason, portfolio, campaign_name, profile "
            "FROM calls ORDER BY id"
        ).fetchall()


def values(record: CallRecord) -> tuple[object, ...]:
    return record.values()


def sample(**changes: object) -> list[CallRecord]:
    options: dict[str, object] = {
        "days": 14,
        "agents": 120,
        "calls_per_day": 1500,
        "seed": 7,
        "tz": TZ,
        "end_day": END,
    }
    options.update(changes)
    return list(generate(**options))  # type: ignore[arg-type]


def test_same_seed_same_calls_other_seed_other_calls() -> None:
    first, again, other = sample(), sample(), sample(seed=8)
    assert first == again
    assert [values(c) for c in first] != [values(c) for c in other]
    assert len(other) == len(first) == 14 * 1500


def test_calls_look_like_a_collections_floor() -> None:
    calls = sample()
    # Known by their natural keys, as imported rows without a call_id are.
    assert [c.call_id for c in calls] == [
        natural_key(c.user, c.answer_ts, c.phone_number, c.lead_id, c.campaign_name) for c in calls
    ]
    assert len({c.call_id for c in calls}) == len(calls)
    assert {c.source for c in calls} == {""}
    users = {c.user for c in calls}
    assert 100 <= len(users) <= 120
    assert all(re.fullmatch(r"[A-Z][a-z]+\.[A-Z][a-z]+\d+", u) for u in users)
    assert len({u.split(".")[0] for u in users}) > 20  # first names vary
    portfolios = Counter(c.portfolio for c in calls)
    assert len(portfolios) == 6
    assert all(re.fullmatch(r"[A-Z]{3}", p) for p in portfolios)
    assert {"GAL", "CSC"} <= set(portfolios)
    assert {c.profile for c in calls} == {"SERVERS", "COLLECTIONS", "FRESHLEADS", "RECOVERY"}
    assert all(c.campaign_name == c.portfolio + c.profile for c in calls)
    assert {c.call_type for c in calls} == {"MANUAL", "DIALER"}
    assert {c.term_reason for c in calls} == {"CALLER", "AGENT", "ABANDON", "NONE"}
    assert all(re.fullmatch(r"[2-9]\d{2}[2-9]\d{6}", c.phone_number) for c in calls)
    loans = [c.loan_number for c in calls]
    assert all(re.fullmatch(r"\d{7}-\d{6}-\d{3}", n) for n in loans if n)
    assert 0 < loans.count("") < len(loans) / 10
    leads = [c.lead_id for c in calls]
    assert all(1_000_000 <= n <= 9_999_999 for n in leads if n is not None)
    assert 0 < leads.count(None) < len(leads) / 50
    assert len(set(leads)) < len(leads) / 2  # accounts are called again
    dispositions = Counter(c.disposition for c in calls)
    assert set(dispositions) <= set(DISPOSITIONS)
    for name in ("VM / NML", "PTP - Promise To Pay", "RPC", "WRONG NUMBER", "No Answer", "Busy"):
        assert dispositions[name] > 0, name
    assert dispositions.most_common(1)[0][0] == "VM / NML"
    assert all(c.call_type == "DIALER" for c in calls if c.disposition == "Dropped")


def test_the_api_documents_example_agents_work_every_day() -> None:
    calls = sample()
    for user in ("Example.User1", "Example.User2"):
        days = {datetime.fromtimestamp(c.answer_ts, TZ).date() for c in calls if c.user == user}
        assert days == {END - timedelta(days=n) for n in range(14)}, user


def test_no_call_is_later_than_the_moment_the_data_is_made() -> None:
    now = datetime(2025, 5, 13, 14, 30, tzinfo=TZ).timestamp()
    calls = sample(now=now)
    whole_day = sample()
    assert calls == [c for c in whole_day if c.answer_ts <= now]
    assert 0 < len(whole_day) - len(calls) < 1500  # the afternoon of the last day
    assert max(c.answer_ts for c in calls) > now - 3600


def test_durations_fit_the_disposition() -> None:
    calls = sample()
    by_disposition: dict[str, list[int]] = {}
    for c in calls:
        by_disposition.setdefault(c.disposition, []).append(c.call_duration_sec)
    voicemail = by_disposition["VM / NML"]
    assert sum(15 <= s <= 60 for s in voicemail) > 0.99 * len(voicemail)
    assert 20 <= median(voicemail) <= 40
    assert 120 <= median(by_disposition["RPC"]) <= 400
    assert median(by_disposition["PTP - Promise To Pay"]) > median(by_disposition["RPC"])
    assert max(c.call_duration_sec for c in calls) > 3600  # a line left open now and then


def test_business_hours_and_busier_weekdays() -> None:
    calls = sample()
    per_day: Counter[date] = Counter()
    for c in calls:
        local = datetime.fromtimestamp(c.answer_ts, TZ)
        assert 8 <= local.hour < 21
        per_day[local.date()] += 1
    assert sorted(per_day) == [END - timedelta(days=n) for n in range(13, -1, -1)]
    assert sum(per_day.values()) == 14 * 1500
    weekday = min(n for d, n in per_day.items() if d.weekday() < 5)
    weekend = max(n for d, n in per_day.items() if d.weekday() >= 5)
    assert weekday > 2 * weekend
    stamps = [c.answer_ts for c in calls]
    assert stamps == sorted(stamps)


def test_demo_command_fills_the_store_once(sqlite_url: str) -> None:
    args = ("demo", "--days", "3", "--agents", "40", "--calls-per-day", "500", "--end-day", "2025-05-13")  # fmt: skip
    result = cli(sqlite_url, *args, "--if-empty")
    assert result.exit_code == 0, result.output
    assert result.stdout == "demo: 1,500 calls: 1,500 inserted, 0 updated, 0 unchanged\n"
    expected = [values(c) for c in sample(days=3, agents=40, calls_per_day=500, seed=42)]
    assert stored(sqlite_url) == expected
    result = cli(sqlite_url, *args, "--if-empty", "--seed", "9")
    assert result.stdout == "demo: the store already has 1,500 calls; left as it is\n"
    result = cli(sqlite_url, *args)  # the same data again changes nothing
    assert result.stdout == "demo: 1,500 calls: 0 inserted, 0 updated, 1,500 unchanged\n"
    assert stored(sqlite_url) == expected


def test_demo_fresh_keeps_the_demo_current(store_url: str, tmp_path: Path) -> None:
    """make demo's --fresh: current data is left alone; data older than a day (a demo.db made
    last week) is replaced with days ending now, and imported calls stay."""
    old = ("demo", "--days", "2", "--agents", "20", "--calls-per-day", "200", "--end-day", "2025-05-13")  # fmt: skip
    assert cli(store_url, *old).exit_code == 0
    csv = tmp_path / "other.csv"
    assert cli(store_url, *old[:-2], "--end-day", "2025-05-20", "--csv", str(csv)).exit_code == 0
    assert cli(store_url, "import", str(csv), "--source", "crm").exit_code == 0
    # Two days: calls fall between 08:00 and 21:00, so at any hour the last 24 hours hold
    # some (one day ending now holds none before 08:00).
    fresh = ("demo", "--days", "2", "--agents", "20", "--calls-per-day", "100", "--fresh")
    result = cli(store_url, *fresh)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "demo: removed 400 calls of older demo data"
    assert result.stdout.splitlines()[1].startswith("demo: ")
    newest = rows_of(store_url, "SELECT MAX(answer_ts), COUNT(*) FROM calls WHERE source = ''")
    assert time.time() - 86_400 < newest[0][0] <= time.time()
    assert rows_of(store_url, "SELECT COUNT(*) FROM calls WHERE source = 'crm'") == [(400,)]
    again = cli(store_url, *fresh)
    assert again.stdout == "demo: the store has calls of the last 24 hours; left as it is\n"
    assert rows_of(store_url, "SELECT COUNT(*) FROM calls WHERE source = ''") == [(newest[0][1],)]


def test_demo_csv_round_trips_through_import(sqlite_url: str, tmp_path: Path) -> None:
    # The week of the spring DST change in New York, to check times survive it.
    path = tmp_path / "demo.csv"
    args = ("--days", "7", "--agents", "50", "--calls-per-day", "400", "--end-day", "2025-03-12")
    result = cli(sqlite_url, "demo", *args, "--csv", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"demo: wrote 2,800 calls to {path}\n"
    assert path.read_text().splitlines()[0] == ",".join(CSV_HEADER)
    result = cli(sqlite_url, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "2,800 rows: 2,800 inserted" in result.stdout
    generated = sample(days=7, agents=50, calls_per_day=400, seed=42, end_day=date(2025, 3, 12))
    assert stored(sqlite_url) == [values(c) for c in generated]


def test_demo_csv_to_standard_output(sqlite_url: str) -> None:
    args = ("--days", "1", "--agents", "5", "--calls-per-day", "3", "--end-day", "2025-05-13")
    result = cli(sqlite_url, "demo", *args, "--csv", "-")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ",".join(CSV_HEADER)
    assert len(lines) == 4
    keys = [c.call_id for c in sample(days=1, agents=5, calls_per_day=3, seed=42)]
    assert [line.split(",")[11] for line in lines[1:]] == keys


def test_demo_csv_into_a_missing_directory(sqlite_url: str, tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "demo.csv"
    result = cli(sqlite_url, "demo", "--days", "1", "--csv", str(target))
    assert result.exit_code == 1
    assert result.stderr == (f"agentcdr: error: cannot write {target}: No such file or directory\n")
