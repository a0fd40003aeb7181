"""Mirror a remote agent_cdr server into a local store: the library side of ``agentcdr sync``.

Each span of days is written in one store transaction, keyed by ``(source, call_id)`` with
``source`` the remote host, so ids never clash with local imports and writing a call again
changes nothing. A small JSON state file records the finished days (days before today, in
the zone of the request; today is never finished) and when the last complete run started,
which ``changes=True`` uses as ``updatedSince`` to pull only what changed since.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

import orjson

from agentcdr.client.aio import AsyncClient
from agentcdr.client.output import write_atomic
from agentcdr.client.plan import DateLike, Span, source_of, today_in
from agentcdr.client.rows import CdrRow
from agentcdr.errors import ConfigError
from agentcdr.records import CallRecord
from agentcdr.store.base import CallStore, WriteCounts

BATCH_ROWS: Final = 2000
STATE_VERSION: Final = 1
# The remote stamps changes with its own clock; this much overlap covers skew and calls
# that were being written while the previous run read.
CHANGES_OVERLAP: Final = timedelta(minutes=15)
_STAMP: Final = "%Y-%m-%d %H:%M:%S"


def default_state_path(store_url: str, remote_url: str) -> Path:
    """Next to a SQLite database; in the current directory for a server database."""
    host = source_of(remote_url).replace(":", "_")
    if store_url.startswith("sqlite:///"):
        db = Path(store_url[len("sqlite:///") :])
        return db.with_name(f"{db.name}.sync-{host}.json")
    return Path(f"agentcdr-sync-{host}.json")


@dataclass
class SyncState:
    path: Path
    source: str
    done: set[date] = field(default_factory=set)
    synced_at: datetime | None = None  # UTC start of the last complete run

    @classmethod
    def load(cls, path: Path, source: str) -> SyncState:
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return cls(path, source)
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read the sync state {path}: {exc}") from exc
        if data.get("version") != STATE_VERSION or data.get("source") != source:
            raise ConfigError(f"the sync state {path} belongs to another remote; use --state")
        synced = data.get("synced_at")
        return cls(
            path,
            source,
            {date.fromisoformat(d) for d in data.get("done", [])},
            datetime.strptime(synced, _STAMP).replace(tzinfo=UTC) if synced else None,
        )

    def save(self) -> None:
        data: dict[str, Any] = {
            "version": STATE_VERSION,
            "source": self.source,
            "done": sorted(d.isoformat() for d in self.done),
            "synced_at": self.synced_at.strftime(_STAMP) if self.synced_at else None,
        }
        write_atomic(self.path, orjson.dumps(data, option=orjson.OPT_INDENT_2))


class Progress(Protocol):
    def start(self, span: Span) -> None: ...

    def add_rows(self, count: int) -> None: ...

    def finish_span(self) -> None: ...


@dataclass
class SyncResult:
    spans: int = 0
    rows: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)


async def _batches(rows: AsyncIterator[CdrRow], source: str) -> AsyncIterator[list[CallRecord]]:
    batch: list[CallRecord] = []
    async for row in rows:
        batch.append(row.to_record(source))
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


async def mirror(
    client: AsyncClient,
    store: CallStore,
    state: SyncState,
    *,
    from_date: DateLike,
    to_date: DateLike | None = None,
    tz: str = "UTC",
    changes: bool = False,
    progress: Progress | None = None,
) -> SyncResult:
    """Copy the remote's calls from ``from_date`` (through ``to_date`` or now) into ``store``.

    ``tz`` is sent with every request so that answer times come with a known zone (UTC by
    default: no daylight-saving ambiguity); the remote must honour the ``tz`` extension.
    """
    if store.read_only:
        raise ConfigError(f"cannot sync into {store.url}: the store is read-only")
    started = datetime.now(UTC)
    since = None
    if changes:
        if state.synced_at is None:
            raise ConfigError("no complete sync recorded yet: run sync without --changes first")
        since = (state.synced_at - CHANGES_OVERLAP).astimezone(ZoneInfo(tz))
    today = today_in(tz)
    result = SyncResult()
    async for span, rows in client.agent_cdr_spans(
        from_date=from_date,
        to_date=to_date,
        tz=tz,
        updated_since=since,
        skip_days=() if changes else state.done,
    ):
        if progress is not None:
            progress.start(span)
        async with store.writer(state.source, kind="sync", name=str(span)) as writer:
            async for batch in _batches(rows, state.source):
                await writer.write(batch)
                result.rows += len(batch)
                if progress is not None:
                    progress.add_rows(len(batch))
        result.counts.inserted += writer.counts.inserted
        result.counts.updated += writer.counts.updated
        result.counts.unchanged += writer.counts.unchanged
        result.spans += 1
        if not changes:
            state.done.update(d for d in span.days() if d < today)
            state.save()
        if progress is not None:
            progress.finish_span()
    state.synced_at = started
    state.save()
    return result
