"""Database server URLs -> connection arguments for asyncpg and asyncmy.

``postgresql://user:password@host:port/database?options`` (also ``postgres://``) and
``mysql://…`` (also ``mariadb://``). User and password are percent-decoded, so a password
holding ``@``, ``:`` or ``/`` is written ``%40``, ``%3A``, ``%2F``. Options:

- ``ssl``: ``disable`` (default), ``require`` (encrypted, certificate not checked) or
  ``verify-full`` (encrypted, certificate and host name checked); PostgreSQL also takes
  ``prefer`` and ``verify-ca``, and accepts libpq's ``sslmode`` as a synonym.
- ``sslrootcert``: a CA bundle file for ``verify-full`` (also ``ssl_ca``).
- ``connect_timeout``: seconds to wait for a connection.
- ``pool_size``: connections each worker process keeps at most (default 10).
- ``host`` (PostgreSQL) or ``unix_socket`` (MySQL): a Unix socket path instead of TCP.

An unknown option is an error, so that a misspelt ``sslmode`` never silently means "no TLS".
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from agentcdr.errors import ConfigError

SCHEMES: Final = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}
DEFAULT_PORTS: Final = {"postgresql": 5432, "mysql": 3306}
DEFAULT_POOL_SIZE: Final = 10
_OPTIONS: Final = {
    "postgresql": {"ssl", "sslmode", "sslrootcert", "connect_timeout", "pool_size", "host"},
    "mysql": {"ssl", "ssl_ca", "sslrootcert", "connect_timeout", "pool_size", "unix_socket"},
}
_SSL_MODES: Final = {
    "postgresql": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "mysql": ("disable", "require", "verify-full"),
}


@dataclass(frozen=True)
class ServerURL:
    """The parts of a database server URL. ``kind`` is ``postgresql`` or ``mysql``."""

    kind: str
    user: str | None
    password: str | None = field(repr=False)
    host: str
    port: int
    database: str
    options: dict[str, str]

    @property
    def pool_size(self) -> int:
        return _positive(self, "pool_size", DEFAULT_POOL_SIZE)

    @property
    def ssl_mode(self) -> str:
        mode = self.options.get("ssl", self.options.get("sslmode", "disable")).lower()
        mode = {"true": "verify-full", "1": "verify-full", "false": "disable"}.get(mode, mode)
        if mode not in _SSL_MODES[self.kind]:
            allowed = ", ".join(_SSL_MODES[self.kind])
            raise ConfigError(f"database URL option ssl={mode!r}: use one of {allowed}")
        return mode


def _positive(url: ServerURL, name: str, default: int) -> int:
    text = url.options.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"database URL option {name}={text!r}: expected a whole number >= 1")
    return int(text)


def parse_server_url(url: str) -> ServerURL:
    """Split a PostgreSQL or MySQL URL; a malformed one is a ``ConfigError``."""
    parts = urlsplit(url)
    kind = SCHEMES.get(parts.scheme.lower())
    if kind is None:
        raise ConfigError(f"not a PostgreSQL or MySQL database URL: {parts.scheme}://…")
    try:
        port = parts.port or DEFAULT_PORTS[kind]
    except ValueError as exc:
        raise ConfigError(f"database URL has a bad port: {exc}") from exc
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - _OPTIONS[kind])
    if unknown:
        raise ConfigError(f"unknown database URL option(s): {', '.join(unknown)}")
    return ServerURL(
        kind=kind,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        host=parts.hostname or "localhost",
        port=port,
        database=unquote(parts.path.lstrip("/")),
        options=options,
    )


def _ssl_context(url: ServerURL) -> ssl.SSLContext:
    context = ssl.create_default_context(
        cafile=url.options.get("sslrootcert") or url.options.get("ssl_ca")
    )
    if url.ssl_mode == "require":
        # Encryption without authentication of the server, as libpq's sslmode=require.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def postgres_connect_kwargs(url: str) -> dict[str, Any]:
    """Keyword arguments for ``asyncpg.connect`` / ``asyncpg.create_pool``."""
    parsed = parse_server_url(url)
    if parsed.kind != "postgresql":
        raise ConfigError("not a PostgreSQL URL: use postgresql://user:password@host/database")
    kwargs: dict[str, Any] = {
        "host": parsed.options.get("host", parsed.host),
        "port": parsed.port,
        "user": parsed.user,
        "password": parsed.password,
        "database": parsed.database or None,
    }
    mode = parsed.ssl_mode
    if mode.startswith("verify") and "sslrootcert" in parsed.options:
        kwargs["ssl"] = _ssl_context(parsed)
    elif mode != "disable":
        kwargs["ssl"] = mode
    else:
        kwargs["ssl"] = False
    if "connect_timeout" in parsed.options:
        kwargs["timeout"] = _positive(parsed, "connect_timeout", 60)
    return {k: v for k, v in kwargs.items() if v is not None}


def mysql_connect_kwargs(url: str) -> dict[str, Any]:
    """Keyword arguments for ``asyncmy.connect`` / ``asyncmy.create_pool``.

    The connection character set is always utf8mb4, so every Unicode character (emoji
    included) round-trips; the tables are utf8mb4 too (see ``schema.MYSQL``).
    """
    parsed = parse_server_url(url)
    if parsed.kind != "mysql":
        raise ConfigError("not a MySQL URL: use mysql://user:password@host/database")
    kwargs: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.user,
        "password": parsed.password or "",
        "charset": "utf8mb4",
    }
    if parsed.database:
        kwargs["database"] = parsed.database
    if "unix_socket" in parsed.options:
        kwargs["unix_socket"] = parsed.options["unix_socket"]
    if parsed.ssl_mode != "disable":
        kwargs["ssl"] = _ssl_context(parsed)
    if "connect_timeout" in parsed.options:
        kwargs["connect_timeout"] = _positive(parsed, "connect_timeout", 10)
    return {k: v for k, v in kwargs.items() if v is not None}
