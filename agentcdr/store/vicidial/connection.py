"""Connections of the read-only VICIdial adapter: URL, pool, read-only sessions, errors.

Every connection is set up read-only (``SET SESSION TRANSACTION READ ONLY``) with the
statement time limit before anything else runs on it, so no code path can get a writable
session to a dialer's database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

import asyncmy
from asyncmy.errors import MySQLError

from agentcdr.errors import ConfigError, DatabaseUnavailable
from agentcdr.store.urls import mysql_connect_kwargs, parse_server_url

log = logging.getLogger("agentcdr.store.vicidial.store")

SCHEMES: Final = ("vicidial+mysql", "vicidial+mariadb")
# MariaDB: max_statement_time exceeded (1969); MySQL: max_execution_time (3024);
# the query was killed (1317).
_TIMEOUT_ERRORS: Final = frozenset({1969, 3024, 1317})
_GRANT_ERRORS: Final = frozenset({1142, 1143, 1146})  # no SELECT grant / no such table
_UNKNOWN_VARIABLE: Final = 1193

Connection = Any  # asyncmy.Connection (the package ships no usable type information)


def connect_kwargs(url: str) -> tuple[dict[str, Any], int]:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise ConfigError(
            f"not a VICIdial database URL: use vicidial+mysql://user:password@host/asterisk"
            f" (got {scheme}://…)"
        )
    plain = f"mysql://{rest}"
    parsed = parse_server_url(plain)
    if not parsed.database:
        raise ConfigError("the VICIdial database URL names no database (usually /asterisk)")
    return mysql_connect_kwargs(plain), parsed.pool_size


# What the driver raises when the server fails or refuses (MySQLError), or the network does.
DRIVER_ERRORS: Final = (MySQLError, OSError, asyncio.TimeoutError)


async def execute(conn: Connection, sql: str, params: tuple[Any, ...] = ()) -> None:
    async with conn.cursor() as cur:
        await cur.execute(sql, params)


def db_error(exc: BaseException, what: str = "read the VICIdial database") -> DatabaseUnavailable:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    if code in _TIMEOUT_ERRORS:
        return DatabaseUnavailable("The report query ran past the statement time limit")
    # Logged for the operator (code and text only: the SQL and its values stay out).
    log.warning("could not %s: %s %s", what, code, exc.args[1:] if code else exc)
    if code in _GRANT_ERRORS:
        return DatabaseUnavailable(
            "The VICIdial database refused a read; check agentcdr's GRANTs (docs/vicidial.md)"
        )
    return DatabaseUnavailable()


class Cached:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.value: Any = None
        self.expires = 0.0

    def get(self) -> Any:
        return self.value if time.monotonic() < self.expires else None

    def put(self, value: Any) -> Any:
        self.value, self.expires = value, time.monotonic() + self.ttl
        return value


class Pool:
    """Read-only connections, at most ``size`` at once (a report holds one while it streams)."""

    def __init__(self, kwargs: dict[str, Any], size: int, statement_timeout: float) -> None:
        self._kwargs = kwargs
        self._slots = asyncio.Semaphore(size)
        self._size = size
        self._idle: list[Connection] = []
        self._timeout = statement_timeout

    async def _new(self) -> Connection:
        kwargs = {"connect_timeout": 10, **self._kwargs}
        try:
            conn = await asyncmy.connect(autocommit=True, **kwargs)
        except DRIVER_ERRORS as exc:
            raise db_error(exc, "connect to the VICIdial database") from exc
        try:
            await execute(conn, "SET SESSION TRANSACTION READ ONLY")
            try:
                await execute(conn, "SET SESSION max_statement_time = %s", (self._timeout,))
            except MySQLError as exc:
                if not exc.args or exc.args[0] != _UNKNOWN_VARIABLE:
                    raise
                # MySQL rather than MariaDB: the limit has another name, in milliseconds.
                millis = int(self._timeout * 1000)
                await execute(conn, "SET SESSION max_execution_time = %s", (millis,))
        except DRIVER_ERRORS as exc:
            conn.close()
            raise db_error(exc, "set up a read-only session") from exc
        return conn

    async def acquire(self) -> Connection:
        await self._slots.acquire()
        try:
            while self._idle:
                conn = self._idle.pop()
                if conn.connected:
                    return conn
            return await self._new()
        except BaseException:
            self._slots.release()
            raise

    def release(self, conn: Connection, reusable: bool) -> None:
        if reusable and conn.connected and len(self._idle) < self._size:
            self._idle.append(conn)
        else:
            # A connection with unread rows cannot be reused; closing drops them unread.
            conn.close()
        self._slots.release()

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


__all__ = [
    "DRIVER_ERRORS",
    "SCHEMES",
    "Cached",
    "Connection",
    "Pool",
    "connect_kwargs",
    "db_error",
    "execute",
]
