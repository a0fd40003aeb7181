"""The ASGI application: routes, the store's life cycle, and the access log."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from agentcdr.auth import Authenticator, Throttle
from agentcdr.errors import DatabaseUnavailable
from agentcdr.settings import Settings
from agentcdr.store import open_call_store, open_user_store
from agentcdr.store.base import CallStore, UserStore
from agentcdr.web import accesslog
from agentcdr.web.api import Api

API_PATH = "/goAPIv2/goReports/goAPI.php"
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
STATIC = Path(__file__).parent / "static"


def create_app(
    settings: Settings | None = None,
    store: CallStore | None = None,
    users: UserStore | None = None,
) -> Starlette:
    """The app. A store passed in is used as it is (and left open); otherwise the app opens
    the store of ``settings.db`` at start-up and closes it at shutdown."""
    settings = settings or Settings.load()
    owned = store is None
    call_store = store if store is not None else open_call_store(settings.db, settings)
    throttle = Throttle(
        settings.login_max_user_failures, settings.login_max_addr_failures, settings.login_window
    )
    user_store = users if users is not None else open_user_store(call_store, settings)
    api = Api(
        settings, call_store, Authenticator(user_store, throttle, settings.credential_cache_ttl)
    )

    async def healthz(request: Request) -> Response:
        try:
            await call_store.ping()
        except DatabaseUnavailable:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if owned:
            await call_store.open()
        try:
            yield
        finally:
            if owned:
                await call_store.close()

    accesslog.configure(settings.access_log)
    app = Starlette(
        routes=[
            Route(API_PATH, api.handle, methods=ALL_METHODS),
            Route("/healthz", healthz),
            Route("/", page),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.api = api
    app.add_middleware(accesslog.AccessLog)
    return app


def app_from_env() -> Starlette:
    """The factory ``agentcdr serve`` hands to the server: settings from AGENTCDR_*."""
    return create_app(Settings.load())
