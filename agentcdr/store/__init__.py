"""Stores: where reports are read from, chosen by database URL."""

from __future__ import annotations

from agentcdr.errors import ConfigError
from agentcdr.settings import Settings
from agentcdr.store.base import (
    CallStore,
    LoginSource,
    RowStream,
    UserStore,
    WriteCounts,
)


def open_call_store(
    url: str, settings: Settings | None = None, *, create: bool = True
) -> CallStore:
    """The call store for a database URL (not yet opened: call ``await store.open()``).

    Only the module of the URL's kind is imported, and with it its driver: a base install
    serves SQLite. ``create=False`` (commands that only read) refuses a SQLite file that
    does not exist instead of creating an empty one.
    """
    timeout = settings.statement_timeout if settings else 600
    pool_timeout = settings.pool_timeout if settings else 5
    scheme = _scheme(url)
    if scheme == "sqlite":
        from agentcdr.store.sql.sqlite import SQLiteStore

        return SQLiteStore(url, statement_timeout=timeout, create=create)
    if scheme in ("postgresql", "postgres"):
        try:
            from agentcdr.store.sql.postgres import PostgresStore
        except ImportError as exc:
            raise _missing_driver("asyncpg", "postgres") from exc
        return PostgresStore(url, statement_timeout=timeout, pool_timeout=pool_timeout)
    if scheme in ("mysql", "mariadb"):
        try:
            from agentcdr.store.sql.mariadb import MySQLStore
        except ImportError as exc:
            raise _missing_driver("asyncmy", "mysql") from exc
        return MySQLStore(url, statement_timeout=timeout, pool_timeout=pool_timeout)
    if scheme in ("vicidial+mysql", "vicidial+mariadb"):
        try:
            from agentcdr.store.vicidial.store import VicidialStore
        except ImportError as exc:
            raise _missing_driver("asyncmy", "vicidial") from exc
        return VicidialStore.from_settings(url, settings)
    raise ConfigError(
        f"unsupported database URL scheme {scheme!r}: use sqlite:///PATH, "
        "postgresql://USER@HOST/DATABASE or mysql://USER@HOST/DATABASE"
    )


def prepare_server_process(url: str) -> None:
    """Process-wide settings for a server worker whose store is at ``url``, before anything
    in it opens a store: with SQLite, its memory statistics off, so that a report's slices
    render on every core (``store.sql.sqlite_process``)."""
    if _scheme(url) == "sqlite":
        from agentcdr.store.sql.sqlite_process import unshare_memory_statistics

        unshare_memory_statistics()


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower()


def _missing_driver(module: str, extra: str) -> ConfigError:
    return ConfigError(
        f"this database URL needs the {module} driver: pip install 'agentcdr[{extra}]'"
    )


def user_store_of(store: CallStore) -> UserStore:
    if store.users is None:
        raise ConfigError(f"the store {store.url!r} keeps no API users; set users_db")
    return store.users


__all__ = [
    "CallStore",
    "LoginSource",
    "RowStream",
    "UserStore",
    "WriteCounts",
    "open_call_store",
    "prepare_server_process",
    "user_store_of",
]
