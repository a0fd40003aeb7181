"""Every setting, declared once: name, type, default, environment variable and help.

The CLI builds its options from this table, ``docs/configuration.md`` documents it (a test
checks that every setting is there), and a bad value fails at start-up naming its key.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


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


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Callable[[], Any]
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        return "AGENTCDR_" + self.name.upper()


SETTINGS: Final = (
    Setting(
        "db",
        str,
        lambda: "sqlite:///agentcdr.db",
        "Database URL of the call store: sqlite:///PATH, postgresql://…, mysql://… "
        "or vicidial+mysql://… (read-only VICIdial adapter).",
        secret=True,
    ),
    Setting(
        "users_db",
        str,
        lambda: "",
        "Database URL for API users when the call store is read-only (VICIdial); "
        "empty means the call store itself.",
        secret=True,
    ),
    Setting("host", str, lambda: "127.0.0.1", "Address the server listens on."),
    Setting("port", _port, lambda: 8080, "TCP port the server listens on."),
    Setting("workers", _positive_int, lambda: 1, "Server worker processes."),
    Setting(
        "tz",
        _zone_name,
        local_zone_name,
        "Report time zone (IANA name): dates in requests and answer_time in responses.",
    ),
    Setting(
        "max_span_days",
        _positive_int,
        lambda: 366,
        "Longest date range one request may ask for, in days (inclusive).",
    ),
    Setting(
        "http_200",
        _bool,
        lambda: False,
        "Answer every response with HTTP 200, errors included, like the PHP original.",
    ),
    Setting(
        "login_max_user_failures",
        _positive_int,
        lambda: 10,
        "Failed logins for one user name within the window before it is throttled.",
    ),
    Setting(
        "login_max_addr_failures",
        _positive_int,
        lambda: 50,
        "Failed logins from one client address within the window before it is throttled.",
    ),
    Setting(
        "login_window",
        _positive_int,
        lambda: 900,
        "Window of the failed-login throttle, in seconds.",
    ),
    Setting(
        "credential_cache_ttl",
        _whole_number(0),
        lambda: 60,
        "Seconds a verified user/password pair is remembered (0 disables the cache).",
    ),
    Setting(
        "statement_timeout",
        _positive_int,
        lambda: 600,
        "Longest a report query may run, in seconds.",
    ),
    Setting(
        "chunk_rows",
        _positive_int,
        lambda: 1000,
        "Rows fetched and encoded per chunk of a streamed response.",
    ),
    Setting(
        "access_log",
        str,
        lambda: "-",
        "Where the access log goes: a file path, '-' for stderr, or '' for none.",
    ),
    Setting(
        "trust_proxy",
        _bool,
        lambda: False,
        "Take the client address from X-Forwarded-For (behind a load balancer).",
    ),
    Setting(
        "vicidial_tz",
        _zone_name_or_empty,
        lambda: "",
        "VICIdial adapter: time zone of the dialer's DATETIME columns (IANA name); "
        "empty means the report time zone.",
    ),
    Setting(
        "vicidial_loan_column",
        _one_of(*VICIDIAL_LOAN_COLUMNS),
        lambda: "vendor_lead_code",
        "VICIdial adapter: the vicidial_list column reported as loan_number, one of "
        + ", ".join(VICIDIAL_LOAN_COLUMNS)
        + ".",
    ),
    Setting(
        "vicidial_tenant_source",
        _one_of(*VICIDIAL_TENANT_SOURCES),
        lambda: "campaign_name",
        "VICIdial adapter: where a call's portfolio comes from: campaign_name (its first "
        "3 characters) or user_group (the campaign's user group).",
    ),
    Setting(
        "vicidial_inbound",
        _bool,
        lambda: False,
        "VICIdial adapter: also report inbound calls (vicidial_closer_log) as call_type INBOUND.",
    ),
    Setting(
        "vicidial_auth",
        _bool,
        lambda: False,
        "VICIdial adapter: let active VICIdial users with report rights (user_level >= 7, "
        "view_reports) log in, besides agentcdr's own API users.",
    ),
)
BY_NAME: Final = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    db: str
    users_db: str
    host: str
    port: int
    workers: int
    tz: str
    max_span_days: int
    http_200: bool
    login_max_user_failures: int
    login_max_addr_failures: int
    login_window: int
    credential_cache_ttl: int
    statement_timeout: int
    chunk_rows: int
    access_log: str
    trust_proxy: bool
    vicidial_tz: str
    vicidial_loan_column: str
    vicidial_tenant_source: str
    vicidial_inbound: bool
    vicidial_auth: bool

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

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
            if raw is None:
                values[setting.name] = setting.default()
                continue
            try:
                values[setting.name] = setting.parse(raw) if isinstance(raw, str) else raw
            except ValueError as exc:
                raise ConfigError(f"setting {setting.name} ({setting.env}): {exc}") from exc
        return cls(**values)

    def public(self) -> dict[str, Any]:
        """The settings with secrets masked, for printing."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = mask_url(value) if BY_NAME[f.name].secret else value
        return out


def mask_url(url: str) -> str:
    """A database URL with its password replaced by ***."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
