"""Options shared by several commands, as decorators (one declaration each).

An option of a setting is made from the setting (``agentcdr.settings``): its name, its help
with the environment variable and the default. Its text is parsed when the command reads its
settings, by the setting's own parser, so a bad value is the same one line whether it came
from the option or the environment. ``--db`` and ``--tz`` are taken before the command
(``agentcdr --db URL import FILE``) and after it (``agentcdr import FILE --db URL``), with
the same meaning: the last one given wins.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, TypeVar, cast

import click

from agentcdr.cli.console import read_password
from agentcdr.cli.context import set_overrides
from agentcdr.client import RetryPolicy
from agentcdr.client.core import Options
from agentcdr.client.plan import FORMATS, ResponseFormat
from agentcdr.clock import zone
from agentcdr.settings import Setting, Settings

F = TypeVar("F", bound=Callable[..., Any])


def _override(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None and param.name is not None:
        set_overrides(ctx, **{param.name: value})


def setting_options(*settings: Setting[Any]) -> Callable[[F], F]:
    """``--name`` options of ``settings``, in the order given."""

    def decorate(command: F) -> F:
        for setting in reversed(settings):
            command = click.option(
                "--" + setting.name.replace("_", "-"),
                setting.name,
                metavar=setting.metavar,
                expose_value=False,
                callback=_override,
                help=f"{setting.help} [env {setting.env}; default: {setting.shown_default()}]",
            )(command)
        return command

    return decorate


db_option = setting_options(Settings.db)
store_options = setting_options(Settings.db, Settings.tz)
"""``--db`` and ``--tz``, as the top-level command takes them."""
server_options = setting_options(
    Settings.host, Settings.port, Settings.workers, Settings.access_log, Settings.access_log_format
)


password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input [else env AGENTCDR_PASSWORD, else a prompt].",
)
"""Passwords never come from an argument: see ``agentcdr.cli.console``."""


@dataclass(frozen=True)
class Remote:
    """The options of every command that reads a remote server, parsed."""

    url: str
    go_user: str
    password_stdin: bool
    from_date: datetime
    to_date: datetime | None
    tz: str | None
    chunk_days: int | None
    page_size: int | None
    max_retries: int
    response_format: str
    progress: bool | None

    @property
    def first(self) -> date:
        return self.from_date.date()

    @property
    def last(self) -> date | None:
        return self.to_date.date() if self.to_date is not None else None

    def password(self) -> str:
        return read_password(self.password_stdin)

    def options(self, chunk_days: int = 1) -> Options:
        """Client options; ``chunk_days`` is the command's default span."""
        return {
            "chunk_days": chunk_days if self.chunk_days is None else self.chunk_days,
            "page_size": self.page_size,
            "retry": RetryPolicy(max_retries=self.max_retries),
            "response_format": cast(ResponseFormat, self.response_format),
        }


def _zone_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            zone(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


_DAY = click.DateTime(["%Y-%m-%d"])
_REMOTE_OPTIONS = (
    click.option(
        "--url",
        required=True,
        envvar="AGENTCDR_URL",
        help="The remote server (https://host) or its goAPI.php URL [env AGENTCDR_URL].",
    ),
    click.option(
        "--goUser",
        "go_user",
        required=True,
        envvar="AGENTCDR_USER",
        help="API user name [env AGENTCDR_USER].",
    ),
    password_stdin_option,
    click.option(
        "--from", "from_date", required=True, type=_DAY, metavar="YYYY-MM-DD", help="First day."
    ),
    click.option(
        "--to",
        "to_date",
        type=_DAY,
        metavar="YYYY-MM-DD",
        help="Last day (inclusive) [default: today in --tz, else the local zone].",
    ),
    click.option(
        "--tz",
        metavar="ZONE",
        callback=_zone_option,
        help="IANA zone of the dates and answer times (the tz extension).",
    ),
    click.option(
        "--chunk-days",
        type=click.IntRange(0),
        help="Days per request; 0: the whole range at once [default: 1].",
    ),
    click.option(
        "--page-size",
        type=click.IntRange(1),
        help="Rows per page within a request (limit/cursor).",
    ),
    click.option(
        "--max-retries",
        type=click.IntRange(0),
        default=5,
        show_default=True,
        help="Retries of a failed request (429, 503, network errors), with backoff and "
        "jitter; Retry-After is honoured.",
    ),
    click.option(
        "--response-format",
        type=click.Choice(FORMATS),
        default="auto",
        show_default=True,
        help="What to ask the server for; auto is NDJSON where the server has it, else JSON.",
    ),
    click.option(
        "--progress/--no-progress",
        default=None,
        help="Show progress on stderr: spans done, rows [default: on when stderr is a terminal].",
    ),
)
_REMOTE_NAMES = tuple(f.name for f in fields(Remote))


def remote_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of a remote server; the command receives them as one ``remote`` argument."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        remote = Remote(**{name: kwargs.pop(name) for name in _REMOTE_NAMES})
        command(*args, remote=remote, **kwargs)

    for option in reversed(_REMOTE_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
