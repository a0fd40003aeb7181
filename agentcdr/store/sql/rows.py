"""What all of agentcdr's SQL stores (SQLite, PostgreSQL, MariaDB/MySQL) share: the columns
of an upserted call and of a report row (derived from ``records.COLUMNS``), their values,
and how imports are cut into batches. The server stores' common skeleton is
``agentcdr.store.sql.server_store``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from agentcdr.records import COLUMNS, CallRecord
from agentcdr.store.base import WriteRow

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
# What a writer is given per call (``base.WriteRow``): the source, the call id, the values.
WRITE_COLUMNS: Final = ("source", "call_id", *VALUE_COLUMNS)
# The stamps a writer adds to each row it inserts: when, and by which entry of ``imports``.
# (An upsert of a call that exists changes neither ``inserted_at`` nor ``import_id``: they
# say who added it.)
STAMP_COLUMNS: Final = ("inserted_at", "updated_at", "import_id")
CALL_COLUMN_NAMES: Final = (*WRITE_COLUMNS, *STAMP_COLUMNS)
CALL_COLUMNS: Final = ", ".join(CALL_COLUMN_NAMES)
# The record's values after the user (they follow agent_key).
_AFTER_USER: Final = slice(CallRecord._fields.index("user") + 1, len(COLUMNS))


def write_row(record: CallRecord, source: str) -> WriteRow:
    """The values a writer takes for ``record`` (``WRITE_COLUMNS``); ``source`` unless the
    record names its own. Built from a slice of the record (a tuple): it runs per row."""
    return (
        record.source or source,
        record.call_id,
        record.user,
        record.user.lower(),
        *cast(tuple[Any, ...], record)[_AFTER_USER],
    )


def stamps(now: int, import_id: int) -> str:
    """The values of ``STAMP_COLUMNS`` as SQL literals (integers of our own), so that rows
    are bound as they come, without a tuple made per row to add them."""
    return f"{int(now)}, {int(now)}, {int(import_id)}"


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


def unique_batches(rows: Sequence[WriteRow], size: int) -> Iterator[list[WriteRow]]:
    """``rows`` (``WRITE_COLUMNS`` tuples) in order, cut into batches of at most ``size``
    rows in which no (source, call_id) repeats.

    A set-based upsert cannot touch one key twice in a statement (PostgreSQL refuses, and
    MariaDB's counts would be ambiguous), while SQLite applies rows one by one; cutting at a
    repeat gives the same final rows and counts as SQLite.
    """
    batch: list[WriteRow] = []
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


# A first load writes its rows with no unique key, and builds the key at the end. When the
# file held a call more than once, that fails; these put its rows together as the upserts
# would have, one after the other.
REPEATED: Final = (
    f"SELECT id, {', '.join(WRITE_COLUMNS)}, updated_at FROM calls "
    "WHERE (source, call_id) IN "
    # (an alias: MySQL's LOCK TABLES wants one per use of a table in a statement)
    "(SELECT source, call_id FROM calls AS repeated "
    "GROUP BY source, call_id HAVING COUNT(*) > 1) "
    "ORDER BY source, call_id, id"
)


@dataclass
class Merged:
    """What merging the rows of repeated calls comes to."""

    updates: list[tuple[Any, ...]] = field(default_factory=list)  # values, updated_at, id
    deletes: list[tuple[int]] = field(default_factory=list)
    updated: int = 0  # rows that changed the call (an upsert would have counted them updated)
    unchanged: int = 0  # rows that repeated it as it was


def merge_repeats(rows: Sequence[tuple[Any, ...]]) -> Merged:
    """``rows`` of ``REPEATED`` (each call's rows together, in the order written) -> each
    call's first row (its id, ``inserted_at`` and ``import_id`` stay) with the values of its
    last row and the ``updated_at`` of the last row that changed a value; the other rows go.
    """
    merged = Merged()
    width = len(WRITE_COLUMNS)
    first: tuple[Any, ...] | None = None
    values: tuple[Any, ...] = ()
    updated_at = 0

    def close() -> None:
        if first is not None:
            merged.updates.append((*values[2:], updated_at, first[0]))

    for row in rows:
        key, row_values = row[1:3], row[1 : 1 + width]
        if first is None or key != first[1:3]:
            close()
            first, values, updated_at = row, row_values, row[-1]
            continue
        merged.deletes.append((row[0],))
        if row_values != values:
            merged.updated += 1
            updated_at = row[-1]
        else:
            merged.unchanged += 1
        values = row_values
    close()
    return merged


def merge_sql(marks: list[str]) -> tuple[str, str]:
    """The statements that apply a ``Merged`` (``marks``: the dialect's placeholders for
    the values, ``updated_at`` and the id)."""
    columns = (*VALUE_COLUMNS, "updated_at")
    update = (
        f"UPDATE calls SET {', '.join(f'{c} = {m}' for c, m in zip(columns, marks, strict=False))} "
        f"WHERE id = {marks[len(columns)]}"
    )
    return update, f"DELETE FROM calls WHERE id = {marks[0]}"
