"""``agentcdr settings``: the effective settings, or the reference table of docs."""

from __future__ import annotations

import click

from agentcdr.cli.context import settings_of
from agentcdr.cli.options import store_options
from agentcdr.settings import SETTINGS


def register(group: click.Group) -> None:
    group.add_command(settings)


def markdown_table() -> str:
    """The settings table of docs/configuration.md (a test keeps the two equal)."""
    lines = ["| setting | environment variable | default | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = s.shown_default(lambda text: f"`{text}`")
        lines.append(f"| `{s.name}` | `{s.env}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--markdown", is_flag=True, help="Print the reference table of every setting.")
@store_options
@click.pass_context
def settings(ctx: click.Context, markdown: bool) -> None:
    """Show the effective settings (passwords in database URLs masked)."""
    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    settings = settings_of(ctx)
    for key, value in settings.public().items():
        click.echo(f"{key} = {value}")
    if settings.db.startswith("sqlite:///"):
        from agentcdr.store.sql.sqlite import path_from_url

        path = path_from_url(settings.db)
        if not path.exists():
            click.echo(f"agentcdr: warning: the SQLite database {path} does not exist", err=True)
