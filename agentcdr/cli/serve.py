"""``agentcdr serve``: the API on granian, a production ASGI server (Rust, multi-process).

Everything that can be wrong with a start is checked here, in the parent process and before
"serving on" is printed: the settings, the store (opened, migrated, pinged and closed), the
login sources and the listening address. A mistake is then one ``agentcdr: error:`` line
and exit status 1, never a worker's traceback after a false start.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import socket
import tempfile
from pathlib import Path

import click

from agentcdr.cli.context import settings_of
from agentcdr.cli.options import server_options, store_options
from agentcdr.errors import ConfigError
from agentcdr.settings import Settings


def register(group: click.Group) -> None:
    group.add_command(serve)


async def _check_store(settings: Settings) -> None:
    """Opens and closes the app's stores exactly as a worker will (ConfigError or
    DatabaseUnavailable, naming what to fix, when it cannot)."""
    from agentcdr.web.app import create_app

    app = create_app(settings, create_store=False)
    async with app.router.lifespan_context(app):
        await app.state.api.store.ping()


def check_address(host: str, port: int) -> None:
    """Refuses an address something already listens on (another agentcdr included: granian
    sets SO_REUSEPORT, which would let two servers silently share the port)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # SO_REUSEADDR only skips connections in TIME_WAIT; a live listener still refuses.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"{host}:{port} is already in use") from None
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


@click.command()
@server_options
@store_options
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Serve the agent_cdr API, /healthz and the report page."""
    settings = settings_of(ctx)  # fails here, naming the key, on a bad setting
    asyncio.run(_check_store(settings))
    check_address(settings.host, settings.port)

    from granian.constants import Interfaces
    from granian.server import Server

    # Workers are separate processes that build the app from the environment.
    os.environ.update(settings.environ())
    shared = None
    if not settings.limits_url:
        # The login throttle and the rate limit count in one file for all the workers, so
        # that their limits hold for the host, not for each worker.
        shared = tempfile.mkdtemp(prefix="agentcdr-limits-")
        os.environ[Settings.limits_url.env] = f"sqlite:///{Path(shared) / 'limits.db'}"
    click.echo(
        f"agentcdr: serving on http://{settings.host}:{settings.port} "
        f"({settings.workers} worker(s), time zone {settings.tz})",
        err=True,
    )
    try:
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
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)
