"""The ASGI application: routes, the store's life cycle, and the access log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentcdr.auth import Authenticator, Throttle
from agentcdr.counts import Counts, open_counts
from agentcdr.encoders import MEDIA_TYPES
from agentcdr.errors import ConfigError, DatabaseUnavailable
from agentcdr.limits import Limits
from agentcdr.settings import Settings, mask_url
from agentcdr.store import open_call_store, prepare_server_process, user_store_of
from agentcdr.store.base import CallStore, LoginSource, UserStore
from agentcdr.web import accesslog, metrics, openapi
from agentcdr.web.api import Api
from agentcdr.web.bounds import RequestBounds
from agentcdr.web.compression import Compress
from agentcdr.web.cors import Cors
from agentcdr.web.head import HeadAsGet

log = logging.getLogger("agentcdr.api")

API_PATH = "/goAPIv2/goReports/goAPI.php"
STATIC = Path(__file__).parent / "static"
# The page runs its own module scripts only (no inline script, nothing from elsewhere) and
# may not be framed.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
# The API docs (Swagger UI): the same, plus the icons its style sheet carries as data: URLs.
DOCS_POLICY = PAGE_POLICY.replace("img-src 'self'", "img-src 'self' data:")


def create_app(
    settings: Settings | None = None,
    store: CallStore | None = None,
    users: UserStore | None = None,
    *,
    create_store: bool = True,
) -> Starlette:
    """The app. A store passed in is used as it is (and left open); otherwise the app opens
    the store of ``settings.db`` at start-up and closes it at shutdown (``create_store``
    False: a SQLite file that does not exist is an error)."""
    settings = settings or Settings.load()
    owned = store is None
    call_store = (
        store if store is not None else open_call_store(settings.db, settings, create=create_store)
    )
    counts = open_counts(settings.limits_url)
    users_store, user_store, external = _user_sources(call_store, settings)
    if users is not None:
        user_store = users
    api = _api(settings, call_store, counts, user_store, external)

    async def healthz(request: Request) -> Response:
        # Liveness: the process answers. No store query, so that a database outage does not
        # make an orchestrator restart every worker (readiness is /readyz).
        return _status("ok")

    async def readyz(request: Request) -> Response:
        try:
            await call_store.ping()
        except DatabaseUnavailable as exc:
            log.warning("request %s: /readyz 503: %s", request.state.request_id, exc.message)
            return _status("unavailable", 503)
        return _status("ok")

    description = orjson.dumps(openapi.describe(settings, API_PATH))

    async def openapi_json(request: Request) -> Response:
        return Response(description, media_type=MEDIA_TYPES["json"])

    async def metrics_page(request: Request) -> Response:
        body, media_type = metrics.exposition(call_store, request.headers.get("accept"))
        return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def docs(request: Request) -> Response:
        return FileResponse(
            STATIC / "docs.html",
            headers={"Cache-Control": "no-cache", "Content-Security-Policy": DOCS_POLICY},
        )

    async def favicon(request: Request) -> Response:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if owned:
            await call_store.open()
        if users_store is not None:
            await users_store.open()
        try:
            yield
        finally:
            if users_store is not None:
                await users_store.close()
            if owned:
                await call_store.close()
            await counts.close()

    accesslog.configure(settings.access_log)
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/openapi.json", openapi_json),
        Route("/", page),
        Route("/docs", docs),
        Route("/favicon.svg", favicon),
        Route("/favicon.ico", favicon),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    if settings.metrics:
        routes.append(Route("/metrics", metrics_page))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.api = api
    # Outermost last: the access log and the metrics see every answer as sent; HEAD runs
    # everything below as a GET; compression works on the body the app makes; a request
    # line or headers over the bounds get the error body before anything else runs.
    app.add_middleware(ApiPath, API_PATH, api.handle)
    app.add_middleware(RequestBounds)
    app.add_middleware(Compress)
    app.add_middleware(Cors, settings.origins)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    app.add_middleware(metrics.Metrics, call_store, API_PATH)
    app.add_middleware(accesslog.AccessLog, settings.access_log_format)
    return app


def _status(status: str, code: int = 200) -> Response:
    return Response(
        b'{"status":"%s"}' % status.encode(),
        status_code=code,
        media_type=MEDIA_TYPES["json"],
        headers={"Cache-Control": "no-store"},
    )


def _api(
    settings: Settings,
    store: CallStore,
    counts: Counts,
    users: UserStore | None,
    external: LoginSource | None,
) -> Api:
    """The endpoint with its login check and its limits, counting in ``counts`` (shared by
    the workers of a host, or the hosts of a Redis server)."""
    throttle = Throttle(
        settings.login_max_user_failures,
        settings.login_max_addr_failures,
        settings.login_window,
        counts,
    )
    limits = Limits(
        counts,
        settings.user_requests_per_minute,
        settings.user_concurrent_reports,
        settings.worker_concurrent_reports,
        observer=metrics.count_limit,
    )
    auth = Authenticator(users, throttle, settings.credential_cache_ttl, external)
    return Api(settings, store, auth, limits)


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path


class ApiPath:
    """The endpoint, answered straight from the middleware for every method (TRACE, CONNECT
    and unknown ones included, each with the API's own error body): the router's matching,
    its plain-text 405 and its exception layers are for the other paths, and a small report
    does not pay for them."""

    def __init__(
        self, app: ASGIApp, path: str, handle: Callable[[Request], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.path = path
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The path below a root_path (a proxy's prefix), as the router would match it; with a
        # trailing slash too, as Apache runs goAPI.php for "goAPI.php/" (the router answered
        # it with a redirect).
        if scope["type"] == "http" and _route_path(scope).rstrip("/") == self.path:
            response = await self.handle(Request(scope, receive, send))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """``X-Content-Type-Options: nosniff`` on every response, and the page's
    Content-Security-Policy on every HTML one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", PAGE_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def _user_sources(
    calls: CallStore, settings: Settings
) -> tuple[CallStore | None, UserStore | None, LoginSource | None]:
    """Where logins are checked: agentcdr's API users (in the call store, or in the separate
    ``users_db`` store, returned first so the app opens it) and, as an option of the
    VICIdial adapter, the dialer's own users (the store's ``logins``)."""
    separate = open_call_store(settings.users_db, settings) if settings.users_db else None
    users = user_store_of(separate) if separate is not None else calls.users
    external = calls.logins
    if settings.vicidial_auth and external is None:
        raise ConfigError(
            f"vicidial_auth needs the VICIdial store (db = vicidial+mysql://…), "
            f"not {mask_url(calls.url)}"
        )
    if users is None and external is None:
        raise ConfigError(
            f"the store {mask_url(calls.url)} keeps no API users: set users_db "
            "(and/or vicidial_auth for the VICIdial adapter)"
        )
    return separate, users, external


def app_from_env() -> Starlette:
    """The factory ``agentcdr serve`` hands to the server: settings from AGENTCDR_*. It runs
    first in each worker process, which owns its process-wide settings."""
    settings = Settings.load()
    prepare_server_process(settings.db)
    return create_app(settings)
