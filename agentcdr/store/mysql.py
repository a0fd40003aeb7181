"""MariaDB and MySQL through asyncmy, for both agentcdr's own MariaDB/MySQL store and the
read-only VICIdial adapter: the pool, the server flavour, the statement time limit and what
a driver error means. The one module that imports asyncmy (with the stores that use it).

The two flavours differ where the time limit is set: MariaDB has ``max_statement_time``
(seconds; ``SET STATEMENT … FOR`` for one statement), MySQL 8 ``max_execution_time``
(milliseconds; an optimizer hint for one SELECT).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Final, Literal

import asyncmy
from asyncmy.errors import IntegrityError, InterfaceError, MySQLError, OperationalError

from agentcdr.errors import DatabaseUnavailable
from agentcdr.store.base import PoolUse
from agentcdr.store.sql.urls import mysql_connect_kwargs
from agentcdr.store.stream import TIME_LIMIT, UNREADABLE

log = logging.getLogger("agentcdr.store.mysql")

Flavour = Literal["mariadb", "mysql"]
Connection = Any  # asyncmy.Connection (the package ships no usable type information)

# What the driver raises when the server fails or refuses (MySQLError), or the network does.
DRIVER_ERRORS: Final = (MySQLError, OSError, asyncio.TimeoutError)
# The server cannot be reached, or the connection was lost.
CONNECTION_ERRORS: Final = (OSError, OperationalError, InterfaceError)
DUPLICATE_ERRORS: Final = (IntegrityError,)

# max_statement_time exceeded (MariaDB), max_execution_time exceeded (MySQL), query killed.
_TIME_LIMIT: Final = frozenset({1969, 3024, 1317})
# A database that takes no writes: --read-only (1290), read_only mode (1836).
_READ_ONLY: Final = frozenset({1290, 1836})
# No grant for a command (1142) or a column (1143), or no such table (1146).
_DENIED: Final = frozenset({1142, 1143, 1146})


def error_code(exc: BaseException) -> int:
    """The server's error number, 0 for anything else."""
    return exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0


def ran_past_time_limit(exc: BaseException) -> bool:
    return error_code(exc) in _TIME_LIMIT


def refuses_writes(exc: BaseException) -> bool:
    """The database takes no writes from us: read-only, or no grant for the command."""
    return isinstance(exc, MySQLError) and error_code(exc) in _READ_ONLY | {1142}


def denied(exc: BaseException) -> bool:
    """No grant for what was read, or the table is not there."""
    return error_code(exc) in _DENIED


def unavailable(exc: BaseException) -> DatabaseUnavailable:
    """The ``DatabaseUnavailable`` a failed read stands for."""
    return DatabaseUnavailable(TIME_LIMIT if ran_past_time_limit(exc) else UNREADABLE)


def flavour_of(conn: Connection) -> Flavour:
    return "mariadb" if "mariadb" in conn.get_server_info().lower() else "mysql"


def session_time_limit(flavour: Flavour, seconds: float) -> str:
    """A SET of the session's statement time limit (for sessions that only read)."""
    if flavour == "mariadb":
        return f"max_statement_time = {seconds:g}"
    return f"max_execution_time = {max(1, int(seconds * 1000))}"


def statement_time_limit(flavour: Flavour, seconds: float) -> tuple[str, str]:
    """What limits one SELECT's time: (the text before the statement, the text right after
    its ``SELECT``)."""
    if flavour == "mariadb":
        return f"SET STATEMENT max_statement_time = {seconds:g} FOR ", ""
    return "", f"/*+ MAX_EXECUTION_TIME({max(1, int(seconds * 1000))}) */ "


def read_only_session(flavour: Flavour) -> str:
    """The session variable that makes every transaction of a session read-only."""
    return "tx_read_only = 1" if flavour == "mariadb" else "transaction_read_only = 1"


async def connect(url: str) -> Connection:
    """One connection outside any pool, autocommit on."""
    return await asyncmy.connect(
        **{"connect_timeout": 10, "autocommit": True, **mysql_connect_kwargs(url)}
    )


async def probe_flavour(url: str) -> Flavour:
    """The server's flavour, from one short connection."""
    conn = await connect(url)
    try:
        return flavour_of(conn)
    finally:
        conn.close()


async def create_pool(url: str, size: int, session: Sequence[str], **options: Any) -> Any:
    """An asyncmy pool of at most ``size`` connections with autocommit on and ``session``
    (variable assignments) set on every new connection. A connection given back inside a
    transaction is dropped, not reused."""
    return await asyncmy.create_pool(
        minsize=1,
        maxsize=size,
        # Below the servers' default wait_timeout of 8 hours.
        pool_recycle=3600,
        # Every statement commits on its own; transactions are opened explicitly.
        autocommit=True,
        init_command=f"SET SESSION {', '.join(session)}" if session else None,
        **{"connect_timeout": 10, **mysql_connect_kwargs(url), **options},
    )


def pool_use(pool: Any) -> PoolUse | None:
    if pool is None:
        return None
    return PoolUse(open=pool.size, in_use=pool.size - pool.freesize)


# How long closing a pool waits for connections still lent out (a report being cut short)
# before it closes them: a shutdown never waits forever on a connection nobody gives back.
_CLOSE_WAIT_SECONDS: Final = 10.0


async def close_pool(pool: Any) -> None:
    pool.close()
    try:
        await asyncio.wait_for(pool.wait_closed(), _CLOSE_WAIT_SECONDS)
    except TimeoutError:
        pool.terminate()
        await pool.wait_closed()


def discard(pool: Any, conn: Connection) -> None:
    """Gives back a connection in an unknown state (a read cut short, a failed statement):
    closed, so that the pool does not hand it out again."""
    conn.close()
    pool.release(conn)


async def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> None:
    async with conn.cursor() as cur:
        await cur.execute(sql, tuple(params) or None)


async def fetch_all(
    conn: Connection, sql: str, params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    async with conn.cursor() as cur:
        await cur.execute(sql, tuple(params) or None)
        return list(await cur.fetchall())
