"""Options shared by several commands, as decorators (one declaration each).

``--db`` and ``--tz`` are taken before the command (``agentcdr --db URL import FILE``) and
after it (``agentcdr import FILE --db URL``), with the same meaning: the last one given wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from agentcdr.cli import set_overrides

F = TypeVar("F", bound=Callable[..., Any])


def _override(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None and param.name is not None:
        set_overrides(ctx, **{param.name: value})


def db_option(command: F) -> F:
    return click.option(
        "--db",
        metavar="URL",
        expose_value=False,
        callback=_override,
        help="Database URL [env AGENTCDR_DB].",
    )(command)


def tz_option(command: F) -> F:
    return click.option(
        "--tz",
        metavar="ZONE",
        expose_value=False,
        callback=_override,
        help="Report time zone [env AGENTCDR_TZ].",
    )(command)


def store_options(command: F) -> F:
    """``--db`` and ``--tz``, as the top-level command takes them."""
    return db_option(tz_option(command))
