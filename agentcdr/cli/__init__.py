"""The ``agentcdr`` command: one module per command group, each a thin layer over the library.

Every ``AgentCDRError`` a command raises becomes one line on stderr and exit status 1.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from agentcdr import __version__
from agentcdr.errors import AgentCDRError
from agentcdr.settings import Settings

T = TypeVar("T")


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AgentCDRError as exc:
            click.echo(f"agentcdr: error: {exc.message}", err=True)
            sys.exit(1)


def settings_of(ctx: click.Context) -> Settings:
    overrides: dict[str, Any] = ctx.find_root().meta.setdefault("agentcdr.overrides", {})
    return Settings.load(overrides)


def set_overrides(ctx: click.Context, **values: Any) -> None:
    ctx.find_root().meta.setdefault("agentcdr.overrides", {}).update(
        {k: v for k, v in values.items() if v is not None}
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agentcdr")
@click.option("--db", metavar="URL", help="Database URL [env AGENTCDR_DB].")
@click.option("--tz", metavar="ZONE", help="Report time zone [env AGENTCDR_TZ].")
@click.pass_context
def main(ctx: click.Context, db: str | None, tz: str | None) -> None:
    """agentcdr: the agent_cdr call-center reporting API and its tools."""
    set_overrides(ctx, db=db, tz=tz)


def _register() -> None:
    from agentcdr.cli import fetch, imports, load, serve, settings, users

    for module in (serve, users, load, imports, fetch, settings):
        module.register(main)


_register()
