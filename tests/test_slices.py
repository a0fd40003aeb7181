"""Reading a rendered report as a head and slices (agentcdr.store.slices), with a reader over
rows in memory whose reads finish in random order: every row comes once and in report
order, dense stretches are read in more parts rather than bigger ones, and concurrent
reports share the process's slots."""

from __future__ import annotations

import asyncio
import itertools
import random
from zoneinfo import ZoneInfo

import pytest

from agentcdr.records import Cursor, ReportRequest
from agentcdr.render import TextBatch
from agentcdr.store import slices
from agentcdr.store.slices import Piece, SliceStream

Key = tuple[int, int]


def dataset(seed: int) -> list[Key]:
    """(answer time, id) of calls: sparse, then a burst of 400 calls in 10 seconds, ties."""
    rng = random.Random(seed)
    times = [rng.randrange(0, 100_000) for _ in range(300)]
    times += [50_000 + rng.randrange(10) for _ in range(400)]
    return [(ts, n) for n, ts in enumerate(times)]


class Reader:
    """Reads parts the way a store does (range, cursor, row limit), slowly and out of
    order; counts the reads running at once."""

    def __init__(self, rows: list[Key], seed: int) -> None:
        self.rows = rows
        self.rng = random.Random(seed)
        self.running = 0
        self.most = 0
        self.largest = 0

    def select(self, part: ReportRequest) -> list[Key]:
        desc = part.order == "desc"
        chosen = [k for k in self.rows if part.start_ts <= k[0] < part.end_ts]
        if part.cursor is not None:
            c = (part.cursor.answer_ts, part.cursor.id)
            chosen = [k for k in chosen if (k < c if desc else k > c)]
        chosen.sort(reverse=desc)
        assert part.limit is not None
        return chosen[: part.limit + 1]

    async def __call__(self, part: ReportRequest) -> Piece:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.rng.random() / 500)
            got = self.select(part)
        finally:
            self.running -= 1
        self.largest = max(self.largest, len(got))
        text = "".join(f"{ts}.{n};" for ts, n in got)
        last = None
        if len(got) == slices.part_limit(part):
            last = Cursor(*got[-1])
        return Piece(TextBatch(text, len(got)), last)


def request(order: str) -> ReportRequest:
    return ReportRequest(start_ts=0, end_ts=100_000, tz=ZoneInfo("UTC"), order=order)


async def read(stream: SliceStream) -> tuple[str, int]:
    texts, batches = [], 0
    async for batch in stream:
        texts.append(str(batch.text))
        batches += 1
    return "".join(texts), batches


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_every_row_once_in_order_in_bounded_parts(
    order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slices, "slice_rows", lambda head: 25)
    rows = dataset(1)
    reader = Reader(rows, 2)

    async def main() -> None:
        stream = await SliceStream.open(request(order), reader, 10, parallel=3)
        text, batches = await read(stream)
        expected = sorted(rows, reverse=order == "desc")
        assert text == "".join(f"{ts}.{n};" for ts, n in expected)
        assert batches > len(rows) // 50  # a head and slices, not one read
        assert reader.largest <= 50  # the burst was cut at the row limit, twice the aim

    asyncio.run(main())


def test_concurrent_reports_share_the_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slices, "slice_rows", lambda head: 25)
    monkeypatch.setattr(slices, "CORES", 2)
    rows = dataset(3)
    reader = Reader(rows, 4)

    async def main() -> None:
        streams = [await SliceStream.open(request("desc"), reader, 10) for _ in range(4)]
        texts = await asyncio.gather(*(read(s) for s in streams))
        assert len({text for text, _ in texts}) == 1
        assert reader.most <= 2  # slots, not 4 reports x 2 readers

    asyncio.run(main())


def test_an_abandoned_report_leaves_no_read_running(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slices, "slice_rows", lambda head: 25)
    reader = Reader(dataset(5), 6)

    async def main() -> None:
        stream = await SliceStream.open(request("asc"), reader, 10, parallel=2)
        async for _ in stream:
            break  # the client went away after the head
        await stream.aclose()
        assert reader.running == 0

    asyncio.run(main())


@pytest.mark.parametrize(
    ("span", "count", "parts"),
    [(30 * 86400, 2, 2), (30 * 86400 + 7, 3, 3), (86400, 4, 4), (7200, 4, 2), (3599, 2, 1)],
)
def test_time_parts_cut_the_range_into_equal_stretches_in_order(
    span: int, count: int, parts: int
) -> None:
    request = ReportRequest(start_ts=1_746_000_000, end_ts=1_746_000_000 + span, tz=ZoneInfo("UTC"))
    cut = slices.time_parts(request, count)
    assert len(cut) == parts
    assert cut[0].start_ts == request.start_ts
    assert cut[-1].end_ts == request.end_ts
    assert all(a.end_ts == b.start_ts for a, b in itertools.pairwise(cut))
    lengths = {p.end_ts - p.start_ts for p in cut}
    assert max(lengths) - min(lengths) <= 1
    assert all(p.tz is request.tz and p.fields == request.fields for p in cut)
