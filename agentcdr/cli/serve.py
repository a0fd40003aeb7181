"""``agentcdr serve``: the API on granian, a production ASGI server (Rust, multi-process)."""

from __future__ import annotations

import os

import click

from agentcdr.cli import set_overrides, settings_of


def register(group: click.Group) -> None:
    group.add_command(serve)


@click.command()
@click.option("--host", help="Listen address [env AGENTCDR_HOST, default 127.0.0.1].")
@click.option("--port", type=int, help="Listen port [env AGENTCDR_PORT, default 8080].")
@click.option("--workers", type=int, help="Worker processes [env AGENTCDR_WORKERS, default 1].")
@click.option(
    "--access-log",
    metavar="PATH",
    help="Access log file, '-' for stderr, '' for none [env AGENTCDR_ACCESS_LOG].",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    workers: int | None,
    access_log: str | None,
) -> None:
    """Serve the agent_cdr API, /healthz and the report page."""
    from granian.constants import Interfaces
    from granian.server import Server

    set_overrides(ctx, host=host, port=port, workers=workers, access_log=access_log)
    settings = settings_of(ctx)  # fails here, naming the key, on a bad setting
    # Workers are separate processes that build the app from the environment.
    for key, value in settings.__dict__.items():
        os.environ[f"AGENTCDR_{key.upper()}"] = str(value)
    click.echo(
        f"agentcdr: serving on http://{settings.host}:{settings.port} "
        f"({settings.workers} worker(s), time zone {settings.tz})",
        err=True,
    )
    Server(
        "agentcdr.web.app:app_from_env",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        factory=True,
        log_access=False,
        websockets=False,
    ).serve()
