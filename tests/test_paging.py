"""Paging: the cursor codec, and pages cut at the limit wherever the store's batches end."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentcdr.errors import InvalidValue
from agentcdr.paging import decode_cursor, encode_cursor
from agentcdr.records import Cursor
from tests.conftest import USERS, ApiHarness
from tests.seed import seed

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}  # six calls


@pytest.mark.parametrize("row_id", [3, "in:1747170000.12", ""])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_cursors_round_trip_as_unpadded_base64url(row_id: int | str, order: str) -> None:
    token = encode_cursor(1747170000, row_id, order)
    assert "=" not in token
    assert token.replace("-", "").replace("_", "").isalnum()
    assert decode_cursor(token, order) == Cursor(answer_ts=1747170000, id=row_id)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (encode_cursor(1747170000, 3, "asc"), "the cursor belongs to order=asc"),
        ("not-a-cursor", "not a cursor returned by this report"),
        ("W10", "not a cursor returned by this report"),  # []
        ("WzEuNSwzLCJkZXNjIl0", "not a cursor returned by this report"),  # [1.5,3,"desc"]
    ],
)
def test_cursors_that_are_not_ours_are_refused(token: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        decode_cursor(token, "desc")


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 4])
def test_pages_end_at_the_limit_wherever_batches_end(
    sqlite_url: str, open_api: Callable[..., ApiHarness], chunk_rows: int
) -> None:
    # The store fetches limit + 1 rows in batches of chunk_rows: the extra row may come in
    # the batch of the last row served, or alone in the next one, or not at all.
    seed(sqlite_url, users=USERS)
    api = open_api(sqlite_url, chunk_rows=chunk_rows)
    everything = [r["call_id"] for r in api.rows(fields="call_id", **DAY)]
    assert len(everything) == 6
    for limit in range(1, 8):
        seen: list[object] = []
        cursor = None
        while True:
            data = api.post(limit=limit, cursor=cursor, fields="call_id", **DAY).json()["data"]
            rows = [r["call_id"] for r in data["rows"]]
            assert data["meta"]["row_count"] == len(rows) <= limit
            assert data["meta"]["limit"] == limit
            seen += rows
            cursor = data["next_cursor"]
            if cursor is None:
                break
            assert len(rows) == limit  # only the last page may be short
        assert seen == everything, (chunk_rows, limit)


def test_next_cursor_is_in_the_body_only_when_paging(sqlite_api: ApiHarness) -> None:
    assert "next_cursor" not in sqlite_api.post(**DAY).json()["data"]
    assert sqlite_api.post(limit=6, **DAY).json()["data"]["next_cursor"] is None
    assert "<next_cursor>" not in sqlite_api.post(responsetype="xml", **DAY).text
    assert "<next_cursor></next_cursor>" in sqlite_api.post(responsetype="xml", limit=6, **DAY).text
