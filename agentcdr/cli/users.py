"""``agentcdr users``: add, list, disable and re-password API users.

Passwords are read as ``agentcdr.cli.console`` reads every password (never from an
argument), typed twice at a prompt.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import click

from agentcdr.auth import hash_password
from agentcdr.cli.console import read_password
from agentcdr.cli.context import run, settings_of
from agentcdr.cli.options import password_stdin_option, store_options
from agentcdr.errors import ConfigError
from agentcdr.records import TENANT_CODE
from agentcdr.store import open_call_store, user_store_of
from agentcdr.store.base import UserStore

_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def register(group: click.Group) -> None:
    group.add_command(users)


def _tenants(values: tuple[str, ...]) -> frozenset[str]:
    tenants = set()
    for value in values:
        for item in value.split(","):
            if not TENANT_CODE.match(item.strip()):
                raise ConfigError(f"not a 3-character tenant code: {item!r}")
            tenants.add(item.strip().upper())
    return frozenset(tenants)


@asynccontextmanager
async def _user_store(ctx: click.Context, *, create: bool = False) -> AsyncIterator[UserStore]:
    """The API users of ``users_db``, else of the call store. Only ``users add`` may create
    a SQLite file: the other commands would only find nobody in a new empty one."""
    settings = settings_of(ctx)
    store = open_call_store(settings.users_db or settings.db, settings, create=create)
    await store.open()
    try:
        yield user_store_of(store)
    finally:
        await store.close()


@click.group()
def users() -> None:
    """Manage API users (goUser/goPass)."""


@users.command("add")
@click.argument("name")
@click.option(
    "--tenant", "tenant", multiple=True, help="A tenant the user may see (repeat, or a comma list)."
)
@click.option("--all-tenants", is_flag=True, help="The user may see every tenant.")
@password_stdin_option
@click.option("--if-missing", is_flag=True, help="Do nothing when the user exists.")
@store_options
@click.pass_context
def add(
    ctx: click.Context,
    name: str,
    tenant: tuple[str, ...],
    all_tenants: bool,
    password_stdin: bool,
    if_missing: bool,
) -> None:
    """Add an API user with a password and a tenant scope."""
    if not _NAME.match(name):
        raise ConfigError(f"invalid user name {name!r}: use letters, digits and . _ @ -")
    if all_tenants == bool(tenant):
        raise ConfigError("give either --tenant XXX (one or more) or --all-tenants")
    tenants = _tenants(tenant)

    async def go() -> None:
        async with _user_store(ctx, create=True) as store:
            if await store.get_user(name) is not None:
                if if_missing:
                    click.echo(f"user {name} exists; left unchanged")
                    return
                raise ConfigError(f"user {name!r} already exists")
            password = read_password(password_stdin, new=True)
            await store.add_user(name, hash_password(password), all_tenants, tenants)
        click.echo(f"added user {name}")

    run(go())


@users.command("list")
@store_options
@click.pass_context
def list_(ctx: click.Context) -> None:
    """List API users with their scope and state."""

    async def go() -> None:
        async with _user_store(ctx) as store:
            users = await store.list_users()
        for user in users:
            scope = "all tenants" if user.all_tenants else ",".join(sorted(user.tenants)) or "-"
            state = "active" if user.active else "disabled"
            click.echo(f"{user.name}\t{state}\t{scope}")

    run(go())


@users.command("disable")
@click.argument("name")
@store_options
@click.pass_context
def disable(ctx: click.Context, name: str) -> None:
    """Disable a user: its requests fail from now on."""

    async def go() -> None:
        async with _user_store(ctx) as store:
            await store.update_user(name, active=False)
        click.echo(f"disabled user {name}")

    run(go())


@users.command("enable")
@click.argument("name")
@store_options
@click.pass_context
def enable(ctx: click.Context, name: str) -> None:
    """Enable a disabled user again."""

    async def go() -> None:
        async with _user_store(ctx) as store:
            await store.update_user(name, active=True)
        click.echo(f"enabled user {name}")

    run(go())


@users.command("passwd")
@click.argument("name")
@password_stdin_option
@store_options
@click.pass_context
def passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a user's password."""

    async def go() -> None:
        async with _user_store(ctx) as store:
            if await store.get_user(name) is None:
                raise ConfigError(f"no such user: {name!r}")
            await store.update_user(
                name, password_hash=hash_password(read_password(password_stdin, new=True))
            )
        click.echo(f"password of {name} changed")

    run(go())
