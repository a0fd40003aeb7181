"""``agentcdr imports``: the store's record of imports, and removing what one added."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import click

from agentcdr.cli.context import run, settings_of
from agentcdr.cli.options import store_options
from agentcdr.errors import ConfigError
from agentcdr.store import open_call_store
from agentcdr.store.base import ImportLog


def register(group: click.Group) -> None:
    group.add_command(imports)


def _stamp(ts: int | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


async def _with_log(ctx: click.Context, action: Callable[[ImportLog], Awaitable[None]]) -> None:
    settings = settings_of(ctx)
    store = open_call_store(settings.db, settings, create=False)
    await store.open()
    try:
        if store.imports is None:
            raise ConfigError(f"the store {store.url} is read-only: it keeps no imports")
        await action(store.imports)
    finally:
        await store.close()


@click.group()
def imports() -> None:
    """The record of imports (import, demo, sync), and removing what one added."""


@imports.command("list")
@store_options
@click.pass_context
def list_(ctx: click.Context) -> None:
    """Every import with its counts, and how many of its calls the store still holds."""

    async def show(log: ImportLog) -> None:
        click.echo("id\tstarted\tkind\tsource\tinserted\tupdated\tunchanged\tcalls\tremoved\tname")
        for e in await log.list():
            click.echo(
                f"{e.id}\t{_stamp(e.started_at)}\t{e.kind}\t{e.source or '-'}\t{e.inserted}\t"
                f"{e.updated}\t{e.unchanged}\t{e.calls}\t{_stamp(e.removed_at)}\t{e.name}"
            )

    run(_with_log(ctx, show))


@imports.command("remove")
@click.argument("import_id", type=int, required=False)
@click.option("--source", metavar="NAME", help="Remove every call of this source instead.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@store_options
@click.pass_context
def remove(ctx: click.Context, import_id: int | None, source: str | None, yes: bool) -> None:
    """Remove the calls one import inserted (IMPORT_ID), or every call of a source.

    Calls the import only updated were in the store before it, and stay.
    """
    if (import_id is None) == (source is None):
        raise ConfigError("give either an IMPORT_ID or --source NAME")

    async def go(log: ImportLog) -> None:
        if import_id is not None:
            entry = await log.get(import_id)
            what, count = f"import {import_id} ({entry.kind} {entry.name})", entry.calls
        else:
            assert source is not None
            what, count = f"source {source!r}", await log.count_source(source)
        if not yes and not click.confirm(f"Remove {count:,} calls of {what}?", err=True):
            raise ConfigError("nothing removed")
        if import_id is not None:
            removed = await log.remove(import_id, int(time.time()))
        else:
            assert source is not None
            removed = await log.remove_source(source, int(time.time()))
        click.echo(f"removed {removed:,} calls of {what}")

    run(_with_log(ctx, go))
