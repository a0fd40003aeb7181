"""What all of agentcdr's SQL stores (SQLite, PostgreSQL, MariaDB/MySQL) share: the columns
of an upserted call and of a report row (derived from ``records.COLUMNS``), their values,
and how imports are cut into batches. The server stores' common skeleton is
``agentcdr.store.sql.server``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, cast

from agentcdr.records import COLUMNS, CallRecord

# A report row: the store's id, then every column (``records.ROW_COLUMNS``).
SELECT_COLUMNS: Final = ", ".join(["id", *(c.store for c in COLUMNS)])
# The columns an upsert may change; a row whose values all equal these is "unchanged".
# agent_key (the lower-cased agent, for case-insensitive filters on an index) follows agent.
VALUE_COLUMNS: Final = tuple(
    name
    for c in COLUMNS
    if c.name != "call_id"
    for name in ((c.store, "agent_key") if c.name == "user" else (c.store,))
)
CALL_COLUMN_NAMES: Final = (
    "source",
    "call_id",
    *VALUE_COLUMNS,
    "inserted_at",
    "updated_at",
    "import_id",
)
CALL_COLUMNS: Final = ", ".join(CALL_COLUMN_NAMES)
CALL_COLUMN_COUNT: Final = len(CALL_COLUMN_NAMES)
# The record's values after the user (they follow agent_key).
_AFTER_USER: Final = slice(CallRecord._fields.index("user") + 1, len(COLUMNS))


def record_params(
    record: CallRecord, source: str, now: int, import_id: int | None
) -> tuple[Any, ...]:
    """The values of an upserted call, in ``CALL_COLUMNS`` order. (An upsert of a call that
    exists changes neither ``inserted_at`` nor ``import_id``: they say who added it.)

    Built from a slice of the record (a tuple) because this runs for every imported row.
    """
    return (
        record.source or source,
        record.call_id,
        record.user,
        record.user.lower(),
        *cast(tuple[Any, ...], record)[_AFTER_USER],
        now,
        now,
        import_id,
    )


def import_sql(marks: list[str]) -> tuple[str, str]:
    """The statements that open (4 values) and close (4 values) an entry of ``imports``."""
    opening = (
        f"INSERT INTO imports (kind, name, source, started_at) VALUES ({', '.join(marks[:4])})"
    )
    closing = (
        f"UPDATE imports SET inserted = {marks[0]}, updated = {marks[1]}, "
        f"unchanged = {marks[2]} WHERE id = {marks[3]}"
    )
    return opening, closing


def unique_batches(rows: Sequence[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    """``rows`` (``record_params`` tuples) in order, cut into batches of at most ``size``
    rows in which no (source, call_id) repeats.

    A set-based upsert cannot touch one key twice in a statement (PostgreSQL refuses, and
    MariaDB's counts would be ambiguous), while SQLite applies rows one by one; cutting at a
    repeat gives the same final rows and counts as SQLite.
    """
    batch: list[tuple[Any, ...]] = []
    keys: set[tuple[Any, Any]] = set()
    for row in rows:
        key = (row[0], row[1])
        if len(batch) >= size or key in keys:
            yield batch
            batch, keys = [], set()
        batch.append(row)
        keys.add(key)
    if batch:
        yield batch
