"""Rows rendered by the database equal rows rendered in Python, byte for byte, on every store.

A differential test: calls with hostile values (quotes, backslashes, every control
character, U+007F, U+2028/U+2029, non-BMP and other non-ASCII letters, CR/LF, ``<>&``, cells
that start like formulas, empty and very long text, NULL lead ids, durations of zero, over
ten hours, past MariaDB's TIME range and negative), answered around the offset changes of
several zones (and in the 1930s, when Amsterdam was 19 min 32 s ahead of UTC), are read as a
store's rendered text (``CallStore.rendered``) and as its rows rendered by the reference
(``render.compile_text``), per kind, field list, zone and order. The reports are read as a
head of 7 rows and slices of about 13, so that slices start and end between rows that share
an answer time.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agentcdr.clock import ZoneClock
from agentcdr.encoders.base import utf8
from agentcdr.records import ALL_FIELDS, DEFAULT_FIELDS, CallRecord, ReportRequest
from agentcdr.render import RowStyle, TextBatch, compile_text
from agentcdr.store import CallStore
from agentcdr.store.slices import CORES
from agentcdr.store.sql.rendered import RowSQL, RowTexts
from tests.test_store import opened, write

HEAD_ROWS = 7
SLICE_ROWS = 13
ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # half an hour of DST
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30, and DST
    "Europe/Amsterdam",  # +00:19:32 before 1937
    "UTC",
)
# 1932-01-01 .. 1934-01-01 and 2024-12-01 .. 2026-02-01.
SPANS = ((-1_199_145_600, -1_136_073_600), (1_733_011_200, 1_769_904_000))
FIELD_LISTS: tuple[tuple[str, ...], ...] = (
    DEFAULT_FIELDS,
    ALL_FIELDS,
    tuple(reversed(ALL_FIELDS)),
    ("user",),
    ("lead_id",),
    ("answer_time", "call_duration", "call_duration_sec"),
    ("call_id", "profile", "disposition", "answer_time"),
)
KINDS = ("json", "ndjson", "csv", "xml")
CONTROL = [chr(c) for c in range(0x20)] + ["\x7f"]
HOSTILE = [
    '"', "'", "\\", ",", ";", "<", ">", "&", "&amp;", "\r\n", "\u2028", "\u2029", "😀", "é",
    "日本", "ß", " ", "\\u000B", "\ufffe", "\uffff", "</rows>", '","',
]  # fmt: skip
FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]
DURATIONS = [0, 1, 59, 3599, 35_999, 36_000, 86_399, 86_400, 90_007, 3_020_399, 3_020_400,
             36_000_000, 2**31 - 1, -1, -90_007]  # fmt: skip
LEAD_IDS = [None, 0, 1, -5, 9_000_000_000, 2**63 - 1]
# Column widths of the schema (records.COLUMNS) that generated text must fit.
WIDTHS = {"call_id": 64, "user": 64, "disposition": 100, "phone_number": 32,
          "loan_number": 100, "call_type": 16, "term_reason": 32, "portfolio": 3,
          "campaign_name": 100, "profile": 100}  # fmt: skip


def instants() -> list[int]:
    """Instants around every offset change of the zones in 1932 and in 2025."""
    points = []
    for (start, end), name in itertools.product(SPANS, ZONES):
        clock = ZoneClock(ZoneInfo(name))
        ts = start
        while ts < end:
            _, change, offset = clock.utc_stretch(ts)
            if change < end and clock.offset(change) != offset:
                points += [change + d for d in (-3601, -1800, -1, 0, 1, 1799, 3600)]
            ts = change
    return points


# Values no format escapes, but ``\.``, which JSON does (and COPY's CSV quotes when it is a
# row's only cell, agentcdr's not).
CLEAN = ("", "Ana", "Zoë Ånström", "VM / NML", "GAL", "x" * 100, "日本", "\\.")
CLEAN_FOR_ALL = CLEAN[:-1]


def text(
    rng: random.Random, width: int, hostile: bool, nul: bool, clean: tuple[str, ...] = CLEAN
) -> str:
    if not hostile:
        return rng.choice(clean)[:width]
    pool = HOSTILE + CONTROL[(0 if nul else 1) :]
    value = "".join(rng.choice([*pool, "a", "b"]) for _ in range(rng.randrange(0, 6)))
    if rng.random() < 0.3:
        value = rng.choice(FORMULA_STARTS) + value
    if rng.random() < 0.1:
        value = (value + "long " * width)[:width]
    return value[:width]


def calls(
    nul: bool, hostile: float, count: int = 260, seed: int = 13, clean: tuple[str, ...] = CLEAN
) -> list[CallRecord]:
    """``count`` calls, a share ``hostile`` of them with hostile text (NUL only where the
    database can hold it: PostgreSQL's text cannot), the others with ``clean`` text."""
    rng = random.Random(seed)
    times = instants()
    out = []
    for n in range(count):
        bad = rng.random() < hostile
        values = {f: text(rng, w, bad, nul, clean) for f, w in WIDTHS.items()}
        values["call_id"] = f"c{n}" + values["call_id"][: WIDTHS["call_id"] - 6]
        if n % 17 == 0:
            values["user"] = "O'Brien"
        out.append(
            CallRecord(
                call_id=values["call_id"],
                user=values["user"],
                answer_ts=rng.choice(times),
                disposition=values["disposition"],
                phone_number=values["phone_number"],
                loan_number=values["loan_number"],
                call_type=values["call_type"],
                call_duration_sec=rng.choice(DURATIONS),
                lead_id=rng.choice(LEAD_IDS),
                term_reason=values["term_reason"],
                portfolio=values["portfolio"],
                campaign_name=values["campaign_name"],
                profile=values["profile"],
            )
        )
    return out


def styles() -> Iterator[tuple[RowStyle, str]]:
    """Every kind with every field list, and with every zone and both orders (field lists
    rotating), CSV also neutralized."""
    rotation = itertools.cycle(FIELD_LISTS)
    for kind in KINDS:
        for fields in FIELD_LISTS:
            yield RowStyle(kind, fields, ZoneInfo("America/New_York")), "desc"
        for zone, order in itertools.product(ZONES, ("asc", "desc")):
            yield RowStyle(kind, next(rotation), ZoneInfo(zone)), order
    for fields in FIELD_LISTS:
        yield RowStyle("csv", fields, ZoneInfo("UTC"), neutralize=True), "asc"


async def both(
    store: CallStore, style: RowStyle, span: tuple[int, int] = SPANS[1], **request: Any
) -> tuple[bytes, bytes, int]:
    """(rendered by the store, rendered in Python, batches the store's text came in)."""
    req = ReportRequest(*span, tz=style.tz, **request)
    stream = await store.rendered(req, style, HEAD_ROWS)
    assert stream is not None
    batches: list[TextBatch] = [b async for b in stream]
    joiner = b"," if style.kind == "json" else b""
    rendered = joiner.join(utf8(b.text) for b in batches)
    reference = utf8(compile_text(style)(await rows_of(store, req)))
    return rendered, reference, len(batches)


async def rows_of(store: CallStore, req: ReportRequest) -> list[Any]:
    rows: list[Any] = []
    async for batch in await store.report(req, 1000):
        rows.extend(batch)
    return rows


@pytest.fixture
def slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agentcdr.store.slices.slice_rows", lambda head: SLICE_ROWS)


def test_rendered_rows_equal_python_rendered_rows(store_url: str, slices: None) -> None:
    records = calls(nul=not store_url.startswith("postgresql"), hostile=0.2)

    async def main() -> None:
        async with opened(store_url) as store:
            await write(store, records)
            for (style, order), span in itertools.product(styles(), SPANS):
                rendered, reference, batches = await both(store, style, span, order=order)
                assert rendered == reference, (style, order, span)
                rows = sum(span[0] <= r.answer_ts < span[1] for r in records)
                assert batches >= 1 + (rows - HEAD_ROWS) // (2 * SLICE_ROWS)  # head, slices
            for style in (RowStyle(k, DEFAULT_FIELDS, ZoneInfo("UTC")) for k in KINDS):
                rendered, reference, _ = await both(store, style, users=("o'brien",))
                assert rendered == reference
                expected = [r for r in records if r.user == "O'Brien" and r.answer_ts > 0]
                assert rendered.count(b"O'Brien") == len(expected) > 0

    asyncio.run(main())


def test_clean_rows_are_rendered_by_the_database_alone(
    store_url: str, slices: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text with nothing to escape passes its check: no part is read again, escaped in SQL,
    and Python renders none of it (a check that failed every time would hide a wrong
    rendering behind the reference)."""
    module = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mariadb"}
    fallbacks: list[RowStyle] = []
    escapes: list[RowStyle] = []

    def spy(style: RowStyle) -> Any:
        fallbacks.append(style)
        return compile_text(style)

    def escaped(texts: RowTexts, part: ReportRequest, tried: RowSQL) -> RowSQL | None:
        escapes.append(texts.style)
        return plain_escaped(texts, part, tried)

    kind = store_url.split(":", 1)[0]
    plain_escaped = RowTexts.escaped
    monkeypatch.setattr(f"agentcdr.store.sql.{module[kind]}.compile_text", spy)
    monkeypatch.setattr(RowTexts, "escaped", escaped)

    async def main() -> None:
        async with opened(store_url) as store:
            await write(store, calls(nul=False, hostile=0.0, clean=CLEAN_FOR_ALL))
            for (style, order), span in itertools.product(styles(), SPANS):
                rendered, reference, _ = await both(store, style, span, order=order)
                assert rendered == reference, (style, order)

    asyncio.run(main())
    assert fallbacks == []
    assert escapes == []


def test_values_to_escape_are_escaped_by_the_database(
    store_url: str, slices: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV or XML part whose values need escaping is read again with the escaping done in
    SQL, and so is every later part of that report: Python renders none of it (a report
    whose values need escaping has them throughout, data set B's dispositions with commas).
    So is a JSON part on PostgreSQL and MariaDB, quoted by ``to_json`` and ``JSON_QUOTE``
    (whose escapes of some control characters are not orjson's: such parts, and only
    those, are rendered in Python)."""
    module = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mariadb"}
    fallbacks: list[RowStyle] = []
    escapes: list[int] = []

    def spy(style: RowStyle) -> Any:
        fallbacks.append(style)
        return compile_text(style)

    def escaped(texts: RowTexts, part: ReportRequest, tried: RowSQL) -> RowSQL | None:
        again = plain_escaped(texts, part, tried)
        if again is not None:  # a part read again, escaped in SQL
            escapes.append(part.start_ts)
        return again

    kind = store_url.split(":", 1)[0]
    kinds = ("csv", "xml") if kind == "sqlite" else KINDS
    plain_escaped = RowTexts.escaped
    monkeypatch.setattr(f"agentcdr.store.sql.{module[kind]}.compile_text", spy)
    monkeypatch.setattr(RowTexts, "escaped", escaped)
    # A few calls with hostile text among clean ones: some reports' first parts are clean.
    records = calls(nul=not store_url.startswith("postgresql"), hostile=0.05)

    async def main() -> None:
        async with opened(store_url) as store:
            await write(store, records)
            for (style, order), span in itertools.product(styles(), SPANS):
                if style.kind not in kinds:
                    continue
                before = len(escapes)
                rendered, reference, _ = await both(store, style, span, order=order)
                assert rendered == reference, (style, order, span)
                # Once per report, or once per part in flight (slices read side by side,
                # one per core): never again for the parts read after the switch.
                assert len(escapes) - before <= max(2, CORES), (style, order)
                reports.append(len(escapes) - before)

    reports: list[int] = []
    asyncio.run(main())
    assert {s.kind for s in fallbacks} <= ({"json", "ndjson"} if kind == "mysql" else set())
    assert sum(map(bool, reports)) > len(reports) / 2  # most have a value to escape


@pytest.mark.parametrize(
    "value", ['say "no"', "C:\\dir", "tab\there", "end\x1f", "a\nb", "x\r", "\x1a"]
)
def test_one_character_to_escape_among_clean_rows(store_url: str, slices: None, value: str) -> None:
    """One value holding one character to escape, and nothing else in the report that
    needs it: every part's check must see it alone (as a quote in JSON's markup, say)."""
    records = calls(nul=False, hostile=0.0, count=60, clean=CLEAN_FOR_ALL)
    records[30] = records[30]._replace(disposition=value, answer_ts=SPANS[1][0] + 86_400)

    async def main() -> None:
        async with opened(store_url) as store:
            await write(store, records)
            for kind in KINDS:
                style = RowStyle(kind, DEFAULT_FIELDS, ZoneInfo("UTC"))
                rendered, reference, _ = await both(store, style)
                assert rendered == reference, kind

    asyncio.run(main())


def test_postgres_renders_alike_whatever_the_database_date_styles(postgres_url: str) -> None:
    """Answer times and durations come from timestamp and interval text, whose shape the
    session's DateStyle and IntervalStyle set: the reads set their own."""
    name = postgres_url.rsplit("/", 1)[1]

    async def main() -> None:
        async with opened(postgres_url) as store:
            await write(store, calls(nul=False, hostile=0.1, count=60))
            await store.execute(  # type: ignore[attr-defined]
                f"ALTER DATABASE {name} SET datestyle = 'SQL, DMY'"
            )
            await store.execute(  # type: ignore[attr-defined]
                f"ALTER DATABASE {name} SET intervalstyle = 'iso_8601'"
            )
        async with opened(postgres_url) as store:
            for kind in KINDS:
                style = RowStyle(kind, ALL_FIELDS, ZoneInfo("Asia/Kathmandu"))
                rendered, reference, _ = await both(store, style)
                assert rendered == reference

    asyncio.run(main())
