"""The ``agentcdr`` command: one module per command group, each a thin layer over the library.

Every ``AgentCDRError`` a command raises becomes one line on stderr and exit status 1.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from agentcdr import __version__
from agentcdr.cli.options import store_options
from agentcdr.errors import AgentCDRError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AgentCDRError as exc:
            click.echo(f"agentcdr: error: {exc.message}", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agentcdr")
@store_options
def main() -> None:
    """agentcdr: the agent_cdr call-center reporting API and its tools."""


def _register() -> None:
    from agentcdr.cli import fetch, imports, load, serve, settings, users

    for module in (serve, users, load, imports, fetch, settings):
        module.register(main)


_register()
