"""A small, hand-written call set with known answers, and the helpers that load it."""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agentcdr.auth import hash_password
from agentcdr.records import CallRecord
from agentcdr.store import open_call_store

TZ = ZoneInfo("America/New_York")
PASSWORD = "correct horse battery"


def ts(local: str, tz: ZoneInfo = TZ) -> int:
    """Epoch seconds of a New York wall-clock time (computed with the stdlib only)."""
    return int(datetime.strptime(local, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz).timestamp())


def call(
    call_id: str,
    user: str,
    local: str,
    campaign: str,
    *,
    disposition: str = "VM / NML",
    phone: str = "1234567890",
    loan: str = "1111111-222222-001",
    call_type: str = "MANUAL",
    seconds: int = 47,
    lead_id: int | None = 3333333,
    term: str = "CALLER",
) -> CallRecord:
    return CallRecord(
        call_id=call_id,
        user=user,
        answer_ts=ts(local),
        disposition=disposition,
        phone_number=phone,
        loan_number=loan,
        call_type=call_type,
        call_duration_sec=seconds,
        lead_id=lead_id,
        term_reason=term,
        portfolio=campaign[:3],
        campaign_name=campaign,
        profile=campaign[3:],
    )


# Inserted in this order, so store ids follow the list (ties on answer time break by id).
CALLS = [
    call("a1", "Example.User1", "2025-05-12 09:00:00", "GALSERVERS", seconds=20),
    call("a2", "Example.User1", "2025-05-13 20:59:08", "GALSERVERS"),
    call(
        "a3",
        "Example.User2",
        "2025-05-13 20:56:45",
        "GALFRESHLEADS",
        phone="9876543210",
        loan="33333333-444444-002",
        call_type="DIALER",
        seconds=20,
        lead_id=3344444,
    ),
    call(
        "a4",
        "Example.User3",
        "2025-05-13 10:15:00",
        "CSCCOLLECTIONS",
        disposition="PTP - Promise To Pay",
        seconds=312,
        lead_id=4000001,
        term="AGENT",
    ),
    call(
        "a5",
        "example.user3",
        "2025-05-13 10:15:00",
        "CSCCOLLECTIONS",
        disposition="RPC <right party> & co",
        seconds=90007,
        lead_id=None,
        loan="",
        term="ABANDON",
        call_type="DIALER",
    ),
    call(
        "a6",
        "José.Núñez1",
        "2025-05-13 00:00:00",
        "CSCSERVERS",
        disposition="No Answer",
        seconds=0,
        term="NONE",
    ),
    call("a7", "Example.User2", "2025-05-13 23:59:59", "BRKCOLLECTIONS", seconds=65),
    call("a8", "Example.User1", "2025-05-14 00:00:00", "GALSERVERS", seconds=33),
]


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


async def _seed(url: str, calls: list[CallRecord], users: dict[str, frozenset[str] | None]) -> None:
    store = open_call_store(url)
    await store.open()
    try:
        if calls:
            async with store.writer() as writer:
                await writer.write(calls)
        for name, tenants in users.items():
            await store.users.add_user(  # type: ignore[attr-defined]
                name, password_hash(), tenants is None, tenants or frozenset()
            )
    finally:
        await store.close()


def seed(
    url: str,
    calls: list[CallRecord] | None = None,
    users: dict[str, frozenset[str] | None] | None = None,
) -> None:
    """Load calls and API users (tenants None = all tenants) into the store at ``url``."""
    asyncio.run(_seed(url, CALLS if calls is None else calls, users or {}))


def add_calls(url: str, calls: list[CallRecord]) -> None:
    asyncio.run(_seed(url, calls, {}))


def rows_of(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a plain SQL query on the store of ``url`` (to check what it holds)."""

    async def go() -> list[tuple[Any, ...]]:
        store = open_call_store(url)
        await store.open()
        try:
            return await store.fetch_rows(sql)  # type: ignore[attr-defined, no-any-return]
        finally:
            await store.close()

    return asyncio.run(go())
