"""The ASGI application: routes, the store's life cycle, and the access log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, request_response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentcdr.auth import Authenticator, Throttle
from agentcdr.counts import open_counts
from agentcdr.encoders import MEDIA_TYPES, error_body
from agentcdr.errors import (
    ApiError,
    ConfigError,
    DatabaseUnavailable,
    HeadersTooLarge,
    UriTooLong,
)
from agentcdr.limits import Limits
from agentcdr.settings import Settings, mask_url
from agentcdr.store import open_call_store, user_store_of
from agentcdr.store.base import CallStore, LoginSource, UserStore
from agentcdr.web import accesslog
from agentcdr.web.api import CORS, Api

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
    )
    users_store, user_store, external = _user_sources(call_store, settings)
    if users is not None:
        user_store = users
    auth = Authenticator(user_store, throttle, settings.credential_cache_ttl, external)
    api = Api(settings, call_store, auth, limits)

    async def healthz(request: Request) -> Response:
        try:
            await call_store.ping()
        except DatabaseUnavailable as exc:
            log.warning("request %s: /healthz 503: %s", request.state.request_id, exc.message)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

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
    app = Starlette(
        routes=[
            Route(API_PATH, EveryMethod(api.handle)),
            Route("/healthz", healthz),
            Route("/", page),
            Route("/favicon.svg", favicon),
            Route("/favicon.ico", favicon),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.api = api
    app.add_middleware(RequestBounds)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(accesslog.AccessLog)
    return app


class EveryMethod:
    """An endpoint that sees every method (TRACE, CONNECT and unknown ones included), so that
    the API answers each with its own error body: starlette's router would answer a method
    outside a route's list with a plain-text 405 of its own."""

    def __init__(self, handle: Callable[[Request], Awaitable[Response]]) -> None:
        self.app = request_response(handle)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


# What a request line and its headers may hold before anything else runs. The HTTP server
# (granian) has its own, higher limits (a URI of 64 KiB, 100 header fields), which it answers
# with an empty 414 or 431 before the app sees the request; below them, the app answers with
# its error body.
MAX_URI_BYTES: Final = 32_768
MAX_HEADER_FIELDS: Final = 64
MAX_HEADER_BYTES: Final = 32_768


class RequestBounds:
    """414 and 431 with the API's error body, for any path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            error = _out_of_bounds(scope)
            if error is not None:
                body = error_body(error, "json")
                headers = {**CORS, "X-Request-ID": scope["state"]["request_id"]}
                response = Response(
                    body, status_code=error.status, media_type=MEDIA_TYPES["json"], headers=headers
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _out_of_bounds(scope: Scope) -> ApiError | None:
    if len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) > MAX_URI_BYTES:
        return UriTooLong(MAX_URI_BYTES)
    headers = scope.get("headers", [])
    if len(headers) > MAX_HEADER_FIELDS or (
        sum(len(k) + len(v) for k, v in headers) > MAX_HEADER_BYTES
    ):
        return HeadersTooLarge(MAX_HEADER_FIELDS, MAX_HEADER_BYTES)
    return None


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
                    headers["Content-Security-Policy"] = PAGE_POLICY
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
    """The factory ``agentcdr serve`` hands to the server: settings from AGENTCDR_*."""
    return create_app(Settings.load())
