"""Every setting, declared once: name, type, default, environment variable and help.

The declaration is the ``Settings`` class itself: each setting is a typed attribute (a
``Setting`` descriptor), so mypy checks ``settings.port`` as an ``int`` and nothing restates
the names. The CLI builds its options from these (``agentcdr.cli.options``), ``agentcdr
settings --markdown`` prints the table of ``docs/configuration.md`` (a test keeps the two
equal), and a bad value fails at start-up naming its key.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Generic, TypeVar, cast, overload
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from agentcdr.clock import zone
from agentcdr.errors import ConfigError


def local_zone_name() -> str:
    """The machine's local IANA zone, from ``TZ`` or ``/etc/localtime``; UTC if unknown."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        return name
    try:
        target = Path("/etc/localtime").resolve()
    except OSError:
        return "UTC"
    parts = target.parts
    if "zoneinfo" in parts:
        return "/".join(parts[parts.index("zoneinfo") + 1 :]) or "UTC"
    return "UTC"


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """A parser of whole numbers from ``low`` to ``high`` (inclusive; no upper bound: None)."""

    def parse(text: str) -> int:
        stripped = text.strip()
        if not stripped.isascii() or not stripped.lstrip("-").isdigit():
            raise ValueError(f"expected a whole number, got {text!r}")
        value = int(stripped)
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ValueError(f"must be {bounds}, got {value}")
        return value

    return parse


_positive_int = _whole_number(1)
_port = _whole_number(1, 65535)


def _zone_name(text: str) -> str:
    zone(text)
    return text


def _zone_name_or_empty(text: str) -> str:
    return _zone_name(text) if text else ""


def parse_origins(text: str) -> tuple[str, ...]:
    """``cors_origins``: ``*`` and/or origins (``scheme://host[:port]``), comma-separated,
    normalised (lower case, no trailing ``/``); empty means no cross-origin access."""
    origins: list[str] = []
    for item in text.split(","):
        origin = item.strip().rstrip("/")
        if origin and origin != "*":
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
                raise ValueError(
                    f"expected * or origins like https://reports.example.com, got {item.strip()!r}"
                )
            origin = f"{parts.scheme}://{parts.netloc}".lower()
        if origin:
            origins.append(origin)
    return tuple(dict.fromkeys(origins))


def _origins(text: str) -> str:
    return ",".join(parse_origins(text))


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {text!r}")
        return value

    return parse


# vicidial_list columns that may serve as loan_number: the identifier of the VICIdial adapter's
# SQL comes from this list only, never from a setting's raw text.
VICIDIAL_LOAN_COLUMNS: Final = (
    "vendor_lead_code",
    "source_id",
    "security_phrase",
    "owner",
    "address3",
    "alt_phone",
    "email",
    "comments",
)
VICIDIAL_TENANT_SOURCES: Final = ("campaign_name", "user_group")


T = TypeVar("T")


class Setting(Generic[T]):
    """One setting: its parser, default and help. Declared as a class attribute of
    ``Settings``, it takes that attribute's name, and reads as the parsed value on an
    instance (``settings.port`` is an ``int``) and as itself on the class (``Settings.port``)."""

    def __init__(
        self,
        parse: Callable[[str], T],
        default: T | Callable[[], T],
        help: str,
        *,
        metavar: str = "TEXT",
        secret: bool = False,
        default_doc: str = "",
    ) -> None:
        self.parse = parse
        self._default = default
        self.help = help
        self.metavar = metavar  # the placeholder of its command-line option
        self.secret = secret
        self.default_doc = default_doc  # a default computed at start-up, in words
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, settings: None, owner: type[Settings]) -> Setting[T]: ...
    @overload
    def __get__(self, settings: Settings, owner: type[Settings]) -> T: ...
    def __get__(self, settings: Settings | None, owner: type[Settings]) -> Setting[T] | T:
        if settings is None:
            return self
        return cast(T, settings._values[self.name])

    def __set__(self, settings: Settings, value: T) -> None:
        raise AttributeError(f"settings are read-only: {self.name}")

    @property
    def env(self) -> str:
        return "AGENTCDR_" + self.name.upper()

    def default(self) -> T:
        if callable(self._default):
            return self._default()
        return self._default

    def shown_default(self, literal: Callable[[str], str] = str) -> str:
        """The default as help and docs show it; ``literal`` formats a value (backticks)."""
        if self.default_doc:
            return self.default_doc
        value = self.default()
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return literal(text) if text else "(empty)"

    def value(self, raw: object) -> T:
        """``raw`` parsed: text with the parser, naming the setting when it is wrong."""
        if not isinstance(raw, str):
            return cast(T, raw)  # a value given by code, already parsed
        try:
            return self.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"setting {self.name} ({self.env}): {exc}") from exc


class Settings:
    """The effective settings, read-only. The attributes below are the table of settings
    (docs/configuration.md and the command-line options are made from it, in this order)."""

    db = Setting(
        str,
        "sqlite:///agentcdr.db",
        "Database URL of the call store: sqlite:///PATH, postgresql://…, mysql://… "
        "or vicidial+mysql://… (read-only VICIdial adapter).",
        metavar="URL",
        secret=True,
    )
    users_db = Setting(
        str,
        "",
        "Database URL for API users when the call store is read-only (VICIdial); "
        "empty means the call store itself.",
        metavar="URL",
        secret=True,
    )
    host = Setting(str, "127.0.0.1", "Address the server listens on.", metavar="HOST")
    port = Setting(_port, 8080, "TCP port the server listens on, 1-65535.", metavar="PORT")
    workers = Setting(
        _positive_int,
        1,
        "Server worker processes (one per core for big reports).",
        metavar="N",
    )
    tz = Setting(
        _zone_name,
        local_zone_name,
        "Report time zone (IANA name): dates in requests and answer_time in responses.",
        metavar="ZONE",
        default_doc="the machine's local zone",
    )
    max_span_days = Setting(
        _positive_int,
        366,
        "Longest date range one request may ask for, in days (inclusive).",
    )
    max_body_bytes = Setting(
        _positive_int,
        1_048_576,
        "Largest request body accepted, in bytes (by its Content-Length and while it is read); "
        "a larger one is refused with HTTP 413 before anything of it is parsed.",
        metavar="BYTES",
    )
    http_200 = Setting(
        _bool,
        False,
        "Answer every response with HTTP 200, errors included, like the PHP original.",
    )
    login_max_user_failures = Setting(
        _positive_int,
        10,
        "Failed logins for one user name within the window before it is throttled.",
    )
    login_max_addr_failures = Setting(
        _positive_int,
        50,
        "Failed logins from one client address within the window before it is throttled.",
    )
    login_window = Setting(_positive_int, 900, "Window of the failed-login throttle, in seconds.")
    limits_url = Setting(
        str,
        "",
        "Where failed logins and per-user request counts are kept: empty for this process "
        "(agentcdr serve then shares a file of its own among its workers), sqlite:///PATH for "
        "every process using that file, or redis://HOST:PORT/DB for every host (the [redis] "
        "extra).",
        metavar="URL",
        secret=True,
    )
    user_requests_per_minute = Setting(
        _whole_number(0),
        0,
        "Requests one API user may make per minute (over it: 10429 with Retry-After); 0 means "
        "no limit.",
    )
    user_concurrent_reports = Setting(
        _positive_int,
        8,
        "Reports (and summaries) one API user may have running at once in a worker process; "
        "one more is refused at once with 10429.",
    )
    worker_concurrent_reports = Setting(
        _positive_int,
        16,
        "Reports (and summaries) a worker process runs at once, from query to last byte; one "
        "more is refused at once with 10429. Bounds a worker's memory.",
    )
    send_timeout = Setting(
        _positive_int,
        30,
        "Seconds a streamed report waits for the client to take the next chunk; past it the "
        "report is cut and its database connection given back.",
    )
    pool_timeout = Setting(
        _positive_int,
        5,
        "Seconds a request waits for a database connection of the pool (PostgreSQL, MariaDB); "
        "past it the answer is 10007 (HTTP 503).",
    )
    credential_cache_ttl = Setting(
        _whole_number(0),
        60,
        "Seconds a verified user/password pair is remembered (0 disables the cache).",
    )
    statement_timeout = Setting(_positive_int, 600, "Longest a report query may run, in seconds.")
    chunk_rows = Setting(
        _positive_int, 1000, "Rows fetched and encoded per chunk of a streamed response."
    )
    access_log = Setting(
        str,
        "-",
        "Where the access log goes: a file path, '-' for stderr, or '' for none.",
        metavar="PATH",
    )
    access_log_format = Setting(
        _one_of("text", "json"),
        "text",
        "Access log lines: text, or json (one JSON object a line); credentials are "
        "redacted in both.",
    )
    trust_proxy = Setting(
        _bool,
        False,
        "Take the client address from X-Forwarded-For (behind a load balancer).",
    )
    cors_origins = Setting(
        _origins,
        "*",
        "Origins whose pages may call the API from a browser, comma-separated: * (any "
        "origin, without browser credentials) and/or origins like https://reports.example.com "
        "(also with credentials); empty means none.",
        metavar="ORIGINS",
    )
    metrics = Setting(
        _bool,
        True,
        "Serve Prometheus metrics at /metrics (counts only: no user, tenant or credential).",
    )
    vicidial_tz = Setting(
        _zone_name_or_empty,
        "",
        "VICIdial adapter: time zone of the dialer's DATETIME columns (IANA name); "
        "empty means the report time zone.",
    )
    vicidial_loan_column = Setting(
        _one_of(*VICIDIAL_LOAN_COLUMNS),
        "vendor_lead_code",
        "VICIdial adapter: the vicidial_list column reported as loan_number, one of "
        + ", ".join(VICIDIAL_LOAN_COLUMNS)
        + ".",
    )
    vicidial_tenant_source = Setting(
        _one_of(*VICIDIAL_TENANT_SOURCES),
        "campaign_name",
        "VICIdial adapter: where a call's portfolio comes from: campaign_name (its first "
        "3 characters) or user_group (the campaign's user group).",
    )
    vicidial_inbound = Setting(
        _bool,
        False,
        "VICIdial adapter: also report inbound calls (vicidial_closer_log) as call_type INBOUND.",
    )
    vicidial_auth = Setting(
        _bool,
        False,
        "VICIdial adapter: let active VICIdial users with report rights (user_level >= 7, "
        "view_reports) log in, besides agentcdr's own API users.",
    )

    __slots__ = ("_values",)
    _values: dict[str, Any]

    def __init__(self, values: Mapping[str, Any]) -> None:
        """Already parsed values of every setting (``Settings.load`` makes them)."""
        missing = [s.name for s in SETTINGS if s.name not in values]
        unknown = sorted(set(values) - set(BY_NAME))
        if missing or unknown:
            raise TypeError(f"Settings: missing {missing}, unknown {unknown}")
        object.__setattr__(self, "_values", dict(values))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"settings are read-only: {name}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(self._values[s.name] for s in SETTINGS))

    def __repr__(self) -> str:
        return f"Settings({self.public()!r})"

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    @property
    def origins(self) -> tuple[str, ...]:
        return parse_origins(self.cors_origins)

    @property
    def vicidial_zone(self) -> ZoneInfo:
        return zone(self.vicidial_tz or self.tz)

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Defaults, then environment variables, then explicit overrides (CLI options)."""
        env = os.environ if environ is None else environ
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw: Any = given.get(setting.name, env.get(setting.env))
            values[setting.name] = setting.default() if raw is None else setting.value(raw)
        return cls(values)

    def public(self) -> dict[str, Any]:
        """The settings with secrets masked, for printing."""
        return {
            s.name: mask_url(self._values[s.name]) if s.secret else self._values[s.name]
            for s in SETTINGS
        }

    def environ(self) -> dict[str, str]:
        """The settings as environment variables (for worker processes: secrets included)."""
        return {s.env: str(self._values[s.name]) for s in SETTINGS}


SETTINGS: Final[tuple[Setting[Any], ...]] = tuple(
    value for value in vars(Settings).values() if isinstance(value, Setting)
)
BY_NAME: Final = {s.name: s for s in SETTINGS}


def mask_url(url: str) -> str:
    """A database URL with its password replaced by ***."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
