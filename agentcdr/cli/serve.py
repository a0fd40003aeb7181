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
from collections.abc import Iterator
from contextlib import contextmanager
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


def check_address(host: str, port: int) -> str:
    """The numeric address to listen on (granian takes no host names: ``localhost`` is
    resolved here). Refuses an address something already listens on (another agentcdr
    included: granian sets SO_REUSEPORT, which would let two servers silently share the
    port)."""
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
    return str(address[0])


# prometheus-client's multiprocess mode: where each worker writes its values. It is read when
# prometheus_client is first imported, so it is set before anything imports the app.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def metrics_directory() -> Iterator[Path]:
    """The workers' metrics directory, empty at start: the one ``PROMETHEUS_MULTIPROC_DIR``
    names (emptied of an earlier run's files), else a new temporary one, removed at exit."""
    given = os.environ.get(METRICS_DIR_ENV)
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="agentcdr-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.db"):
        old.unlink()
    os.environ[METRICS_DIR_ENV] = str(directory)
    try:
        yield directory
    finally:
        if not given:
            os.environ.pop(METRICS_DIR_ENV, None)
            shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def shared_limits(settings: Settings) -> Iterator[None]:
    """Without ``limits_url``, the login throttle and the rate limit count in one SQLite file
    that all the workers share (a new temporary one, removed at exit), so that their limits
    hold for the host, not for each worker."""
    if settings.limits_url:
        yield
        return
    shared = Path(tempfile.mkdtemp(prefix="agentcdr-limits-"))
    os.environ[Settings.limits_url.env] = f"sqlite:///{shared / 'limits.db'}"
    try:
        yield
    finally:
        os.environ.pop(Settings.limits_url.env, None)
        shutil.rmtree(shared, ignore_errors=True)


@click.command()
@server_options
@store_options
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Serve the agent_cdr API, its docs, /healthz, /readyz, /metrics and the report page."""
    settings = settings_of(ctx)  # fails here, naming the key, on a bad setting
    with metrics_directory():
        asyncio.run(_check_store(settings))
        address = check_address(settings.host, settings.port)
        # Workers are separate processes that build the app from the environment.
        os.environ.update(settings.environ())
        with shared_limits(settings):
            _serve(settings, address)


def _serve(settings: Settings, address: str) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    click.echo(
        f"agentcdr: serving on http://{settings.host}:{settings.port} "
        f"({settings.workers} worker(s), time zone {settings.tz})",
        err=True,
    )
    Server(
        "agentcdr.web.app:app_from_env",
        address=address,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        factory=True,
        log_access=False,
        websockets=False,
    ).serve()
