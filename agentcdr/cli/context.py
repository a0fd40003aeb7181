"""What a command run shares: the settings given as options, and running the async library."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from agentcdr.settings import Settings

T = TypeVar("T")


def settings_of(ctx: click.Context) -> Settings:
    """The effective settings; a bad value is a ``ConfigError`` naming the setting."""
    overrides: dict[str, Any] = ctx.find_root().meta.setdefault("agentcdr.overrides", {})
    return Settings.load(overrides)


def set_overrides(ctx: click.Context, **values: Any) -> None:
    """Settings given on the command line (text, parsed by ``settings_of``); a later option
    replaces an earlier one, wherever in the command line they stand."""
    ctx.find_root().meta.setdefault("agentcdr.overrides", {}).update(
        {k: v for k, v in values.items() if v is not None}
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)
