"""Where the login throttle and the per-user rate limit keep their counts: one process's
memory, a small SQLite file that every worker of a host shares, or Redis for every host.

A count is a sliding window of entries per key ("user:ops", "addr:203.0.113.9", "rate:ops").
``take`` is the one write the limits need: it checks every key against its limit and adds an
entry to all of them, or to none, in one atomic step, so however many requests arrive at once,
in however many workers, no more than the limit get through. ``look`` is the one read of a
login (a single cheap operation on the success path). Marks remember, for a time, which
(user, address) pairs logged in correctly.

The backend is chosen by the ``limits_url`` setting: ``""`` this process only (what an app
made in-process uses; ``agentcdr serve`` points its workers at a file of its own instead),
``sqlite:///PATH`` every process using that file, ``redis://HOST:PORT/DB`` every host (the
``redis`` package, the ``[redis]`` extra, is imported only then).
"""

from __future__ import annotations

import functools
import secrets
import sqlite3
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Protocol

from agentcdr.errors import ConfigError, DatabaseUnavailable

Limited = Sequence[tuple[str, int]]  # (key, limit) pairs
# What a client is told (the cause goes to the log, with the request id).
UNAVAILABLE: Final = "The login counts cannot be reached; try again later"


class Counts(Protocol):
    async def take(self, keys: Limited, window: float, now: float) -> tuple[float | None, str]:
        """Adds an entry stamped ``now`` to every key unless one of them already holds its
        limit of entries younger than ``window`` seconds. Returns (None, token) when taken,
        else (seconds until the fullest key frees an entry, "")."""
        ...

    async def give_back(self, keys: Sequence[str], token: str) -> None:
        """Removes the entries that ``take`` added with ``token``."""
        ...

    async def clear(self, key: str) -> None: ...

    async def look(
        self, keys: Limited, mark: str, window: float, now: float
    ) -> tuple[list[float | None], bool]:
        """For each key: None while it is under its limit, else seconds until it frees an
        entry; and whether ``mark`` is set."""
        ...

    async def set_mark(self, mark: str, ttl: float, now: float) -> None: ...

    async def close(self) -> None: ...


def open_counts(url: str) -> Counts:
    """The backend of a ``limits_url``."""
    if not url:
        return MemoryCounts()
    scheme = url.split("://", 1)[0].lower()
    if scheme == "sqlite":
        path = url.removeprefix("sqlite:///")
        if path == url or not path:
            raise ConfigError(f"limits_url: not a SQLite URL (sqlite:///PATH): {url}")
        return SQLiteCounts(Path(path))
    if scheme in ("redis", "rediss", "unix"):
        return RedisCounts(url)
    raise ConfigError(
        f"limits_url: unsupported scheme {scheme!r}: use '' (this process), sqlite:///PATH "
        "(the workers of a host) or redis://HOST:PORT/DB (every host)"
    )


def _wait(oldest: float, window: float, now: float) -> float:
    return max(oldest + window - now, 0.001)


class MemoryCounts:
    """One process's counts (an app run in-process, the tests). Keys whose entries have all
    left their window are dropped, so memory follows the keys active within a window."""

    def __init__(self) -> None:
        self._entries: dict[str, deque[tuple[float, float, str]]] = {}  # at, expires, token
        self._marks: dict[str, float] = {}
        self._ops = 0

    def _live(self, key: str, window: float, now: float) -> deque[tuple[float, float, str]]:
        entries = self._entries.get(key)
        if entries is None:
            return deque()
        while entries and entries[0][0] <= now - window:
            entries.popleft()
        if not entries:
            del self._entries[key]
        return entries

    def _sweep(self, now: float) -> None:
        self._ops += 1
        if self._ops % 4096:
            return
        self._entries = {k: e for k, e in self._entries.items() if e and e[-1][1] > now}
        self._marks = {k: until for k, until in self._marks.items() if until > now}

    async def take(self, keys: Limited, window: float, now: float) -> tuple[float | None, str]:
        self._sweep(now)
        waits = [
            _wait(live[0][0], window, now)
            for key, limit in keys
            if len(live := self._live(key, window, now)) >= limit
        ]
        if waits:
            return max(waits), ""
        token = secrets.token_hex(8)
        for key, _ in keys:
            self._entries.setdefault(key, deque()).append((now, now + window, token))
        return None, token

    async def give_back(self, keys: Sequence[str], token: str) -> None:
        for key in keys:
            entries = self._entries.get(key)
            if entries is not None:
                kept = deque(e for e in entries if e[2] != token)
                if kept:
                    self._entries[key] = kept
                else:
                    del self._entries[key]

    async def clear(self, key: str) -> None:
        self._entries.pop(key, None)

    async def look(
        self, keys: Limited, mark: str, window: float, now: float
    ) -> tuple[list[float | None], bool]:
        waits: list[float | None] = []
        for key, limit in keys:
            live = self._live(key, window, now)
            waits.append(_wait(live[0][0], window, now) if len(live) >= limit else None)
        return waits, self._marks.get(mark, 0.0) > now

    async def set_mark(self, mark: str, ttl: float, now: float) -> None:
        self._sweep(now)
        self._marks[mark] = now + ttl

    async def close(self) -> None:
        self._entries.clear()
        self._marks.clear()


_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS entries "
    "(key TEXT NOT NULL, at REAL NOT NULL, expires REAL NOT NULL, token TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS entries_key ON entries (key, at)",
    "CREATE INDEX IF NOT EXISTS entries_expires ON entries (expires)",
    "CREATE TABLE IF NOT EXISTS marks (key TEXT PRIMARY KEY, until REAL NOT NULL)",
)
_COUNT: Final = "SELECT COUNT(*), MIN(at) FROM entries WHERE key = ? AND at > ?"


@functools.cache
def _look_sql(keys: int) -> str:
    """Each key's count and oldest entry in the window, then whether the mark is set."""
    per_key = (
        "(SELECT COUNT(*) FROM entries WHERE key = ? AND at > ?), "
        "(SELECT MIN(at) FROM entries WHERE key = ? AND at > ?), "
    )
    return f"SELECT {per_key * keys}EXISTS (SELECT 1 FROM marks WHERE key = ? AND until > ?)"


class SQLiteCounts:
    """Counts in a SQLite file that every worker process of a host opens.

    Each operation is one short transaction on the event loop (tens of microseconds: a
    thread would cost more than the statement). The file holds nothing worth keeping across
    a crash, so it is written without fsync.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._ops = 0

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA busy_timeout = 2000")
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = OFF")
                for statement in _SCHEMA:
                    db.execute(statement)
            except sqlite3.Error as exc:
                raise DatabaseUnavailable(UNAVAILABLE) from exc
            self._db = db
        return self._db

    def _run(self, work: Any) -> Any:
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(UNAVAILABLE) from exc
        return result

    def _sweep(self, db: sqlite3.Connection, now: float) -> None:
        self._ops += 1
        if self._ops % 1024 == 0:
            db.execute("DELETE FROM entries WHERE expires <= ?", (now,))
            db.execute("DELETE FROM marks WHERE until <= ?", (now,))

    async def take(self, keys: Limited, window: float, now: float) -> tuple[float | None, str]:
        def work(db: sqlite3.Connection) -> tuple[float | None, str]:
            self._sweep(db, now)
            waits = []
            for key, limit in keys:
                count, oldest = db.execute(_COUNT, (key, now - window)).fetchone()
                if count >= limit:
                    waits.append(_wait(oldest, window, now))
            if waits:
                return max(waits), ""
            token = secrets.token_hex(8)
            db.executemany(
                "INSERT INTO entries VALUES (?, ?, ?, ?)",
                [(key, now, now + window, token) for key, _ in keys],
            )
            return None, token

        result: tuple[float | None, str] = self._run(work)
        return result

    async def give_back(self, keys: Sequence[str], token: str) -> None:
        self._run(
            lambda db: db.executemany(
                "DELETE FROM entries WHERE key = ? AND token = ?", [(k, token) for k in keys]
            )
        )

    async def clear(self, key: str) -> None:
        self._run(lambda db: db.execute("DELETE FROM entries WHERE key = ?", (key,)))

    async def look(
        self, keys: Limited, mark: str, window: float, now: float
    ) -> tuple[list[float | None], bool]:
        db = self._conn()
        since = now - window
        # One statement, not one per key: every request of a logged-in user asks this.
        sql, values = _look_sql(len(keys)), []
        for key, _ in keys:
            values += [key, since, key, since]
        try:
            row = db.execute(sql, [*values, mark, now]).fetchone()
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(UNAVAILABLE) from exc
        waits: list[float | None] = [
            _wait(row[2 * i + 1], window, now) if row[2 * i] >= limit else None
            for i, (_, limit) in enumerate(keys)
        ]
        return waits, bool(row[-1])

    async def set_mark(self, mark: str, ttl: float, now: float) -> None:
        self._run(
            lambda db: db.execute(
                "INSERT INTO marks VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET until = ?",
                (mark, now + ttl, now + ttl),
            )
        )

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            db.close()


# KEYS: the keys; ARGV: now, window, token, then each key's limit. Checks every key, then
# adds to all or none: one script runs atomically on the server.
_TAKE: Final = """
local now, window, token = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local wait = -1
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait >= 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, token)
  redis.call('EXPIRE', key, math.ceil(window))
end
return false
"""
# KEYS: the keys, then the mark; ARGV: now, window, then each key's limit.
_LOOK: Final = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS - 1 do
  local key = KEYS[i]
  local live = redis.call('ZCOUNT', key, '(' .. (now - window), '+inf')
  if live >= tonumber(ARGV[2 + i]) then
    local oldest = redis.call('ZRANGEBYSCORE', key, '(' .. (now - window), '+inf',
                              'WITHSCORES', 'LIMIT', 0, 1)
    out[i] = tostring(tonumber(oldest[2]) + window - now)
  else
    out[i] = ''
  end
end
out[#KEYS] = redis.call('EXISTS', KEYS[#KEYS])
return out
"""


class RedisCounts:
    """Counts in Redis, shared by every host that names the same server and database."""

    def __init__(self, url: str, prefix: str = "agentcdr:") -> None:
        self._prefix = prefix  # keys of other agentcdr deployments on the server stay apart
        try:
            import redis.asyncio
        except ImportError as exc:
            raise ConfigError(
                "limits_url redis://… needs the redis package: pip install 'agentcdr[redis]'"
            ) from exc
        self._client: Any = redis.asyncio.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._take = self._client.register_script(_TAKE)
        self._look = self._client.register_script(_LOOK)

    async def _call(self, work: Any) -> Any:
        try:
            return await work
        except self._errors as exc:
            raise DatabaseUnavailable(UNAVAILABLE) from exc

    async def take(self, keys: Limited, window: float, now: float) -> tuple[float | None, str]:
        token = secrets.token_hex(8)
        names = [self._prefix + key for key, _ in keys]
        wait = await self._call(
            self._take(keys=names, args=[now, window, token, *(limit for _, limit in keys)])
        )
        if wait is None:
            return None, token
        return max(float(wait), 0.001), ""

    async def give_back(self, keys: Sequence[str], token: str) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.zrem(self._prefix + key, token)
            await self._call(pipe.execute())

    async def clear(self, key: str) -> None:
        await self._call(self._client.delete(self._prefix + key))

    async def look(
        self, keys: Limited, mark: str, window: float, now: float
    ) -> tuple[list[float | None], bool]:
        names = [self._prefix + key for key, _ in keys] + [self._prefix + "mark:" + mark]
        out = await self._call(
            self._look(keys=names, args=[now, window, *(limit for _, limit in keys)])
        )
        waits = [max(float(w), 0.001) if w else None for w in out[:-1]]
        return waits, bool(int(out[-1]))

    async def set_mark(self, mark: str, ttl: float, now: float) -> None:
        await self._call(
            self._client.set(self._prefix + "mark:" + mark, b"1", px=max(1, int(ttl * 1000)))
        )

    async def close(self) -> None:
        await self._client.aclose()
