"""The goAPI endpoint: parse, authenticate, then answer the action (the report, streamed; or
its summary). Nothing else.

Every failure before the first byte becomes one error body (JSON, or XML when the caller
asked for XML) with the code and status of its ``ApiError`` class; anything else is an
``InternalError`` whose request id is logged with the traceback. A failure after the first
byte cannot change the status any more; the connection is then aborted so that a client never
mistakes a truncated report for a complete one.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

import orjson
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from agentcdr import params
from agentcdr.auth import Authenticator
from agentcdr.clock import ZoneClock
from agentcdr.encoders import ENCODERS, MEDIA_TYPES, error_body
from agentcdr.encoders.csv import encode_csv
from agentcdr.encoders.summary import encode_summary
from agentcdr.encoders.xlsx import write_workbook
from agentcdr.errors import (
    ApiError,
    InternalError,
    InvalidValue,
    MethodNotAllowed,
)
from agentcdr.paging import Page
from agentcdr.records import ReportRequest
from agentcdr.settings import Settings
from agentcdr.store.base import CallStore
from agentcdr.summary import totals
from agentcdr.web import metrics

log = logging.getLogger("agentcdr.api")

Tenants = tuple[str, ...] | None

# The methods the endpoint answers (HEAD as GET without the body: agentcdr.web.head).
ALLOW: Final = "GET, POST, HEAD, OPTIONS"
# Formats that a browser saves to a file (the report page's exports are form submissions).
DOWNLOADS: Final = ("csv", "ndjson", "xlsx")


@dataclass
class Api:
    settings: Settings
    store: CallStore
    auth: Authenticator

    @property
    def limits(self) -> params.Limits:
        return params.Limits(tz=self.settings.zone, max_span_days=self.settings.max_span_days)

    def error(self, exc: ApiError, fmt: str, request_id: str) -> Response:
        metrics.count_error(exc)
        headers = {"X-Request-ID": request_id}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(exc.retry_after))
        if exc.status == 405:
            headers["Allow"] = ALLOW
        return Response(
            error_body(exc, fmt),
            status_code=200 if self.settings.http_200 else exc.status,
            media_type=MEDIA_TYPES["xml" if fmt == "xml" else "json"],
            headers=headers,
        )

    async def handle(self, request: Request) -> Response:
        request_id: str = request.state.request_id
        if request.method == "OPTIONS":  # a browser's preflight never gets here (web.cors)
            return Response(status_code=204, headers={"Allow": ALLOW, "X-Request-ID": request_id})
        fmt = "json"
        try:
            raw = await _parameters(request)
            fmt = params.error_format(raw)
            return await self._answer(request, raw, request_id)
        except ApiError as exc:
            request.state.format = fmt
            return self.error(exc, fmt, request_id)
        except Exception:  # a ConfigError or a bug: what it says is for the log, not the caller
            log.exception("unexpected error in request %s", request_id)
            request.state.format = fmt
            return self.error(InternalError(request_id), fmt, request_id)

    async def _answer(self, request: Request, raw: params.Raw, request_id: str) -> Response:
        if request.method not in ("GET", "POST"):
            raise MethodNotAllowed(request.method)
        started = time.perf_counter()
        action = params.action(raw)
        fmt = params.response_type(raw, action)
        name, password = params.credentials(raw, _basic_auth(request))
        user = await self.auth.authenticate(name, password, client_address(request, self.settings))
        request.state.api_user = user.name
        tenants = params.tenant_scope(raw, user)
        headers = {"X-Request-ID": request_id, "Cache-Control": "no-store"}
        if action == params.SUMMARY:
            response = await self._summary(raw, fmt, tenants, headers, started)
        else:
            response = await self._report(raw, fmt, tenants, headers, started)
        request.state.format = fmt
        return response

    async def _report(
        self,
        raw: params.Raw,
        fmt: str,
        tenants: Tenants,
        headers: dict[str, str],
        started: float,
    ) -> Response:
        report = params.build_request(raw, tenants, self.limits, time.time())
        neutralize = params.csv_formulas(raw)
        stream = None
        if report.tenants != ():  # an empty scope cannot match anything: no query at all
            stream = await self.store.report(report, self.settings.chunk_rows)
        page = Page(report, stream, params.describe(report))
        if fmt in DOWNLOADS:
            headers["Content-Disposition"] = attachment("agent_cdr", report, fmt)
        if fmt == "xlsx":
            path = await write_workbook(report, page)
            metrics.count_report(params.REPORT, fmt, page.count, path.stat().st_size, started)
            return FileResponse(
                path,
                media_type=MEDIA_TYPES[fmt],
                headers=headers,
                background=BackgroundTask(path.unlink),
            )
        body = _encode(fmt, report, page, neutralize)
        if await page.read_ahead(self.settings.chunk_rows):
            # The whole report is already in hand: one response with a Content-Length is
            # cheaper than a stream, and most requests are small.
            whole = b"".join([chunk async for chunk in body])
            metrics.count_report(params.REPORT, fmt, page.count, len(whole), started)
            return Response(whole, media_type=MEDIA_TYPES[fmt], headers=headers)
        body = metrics.observed(body, params.REPORT, fmt, started, page)
        return StreamingResponse(body, media_type=MEDIA_TYPES[fmt], headers=headers)

    async def _summary(
        self,
        raw: params.Raw,
        fmt: str,
        tenants: Tenants,
        headers: dict[str, str],
        started: float,
    ) -> Response:
        group_by = params.group_by(raw)
        request = params.build_request(raw, tenants, self.limits, time.time(), params.SUMMARY)
        neutralize = params.csv_formulas(raw)
        rows = await self.store.summary(request, group_by)
        meta = params.describe(request)
        del meta["order"]  # groups come by calls, most first
        meta.update(row_count=len(rows), group_by=list(group_by), totals=totals(rows))
        if fmt in DOWNLOADS:
            headers["Content-Disposition"] = attachment("agent_cdr_summary", request, fmt)
        body = encode_summary(fmt, group_by, rows, meta, neutralize=neutralize)
        metrics.count_report(params.SUMMARY, fmt, len(rows), len(body), started)
        return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


def _encode(fmt: str, report: ReportRequest, page: Page, neutralize: bool) -> AsyncIterator[bytes]:
    if fmt == "csv":
        return encode_csv(report, page, neutralize=neutralize)
    return ENCODERS[fmt](report, page)


def attachment(action: str, report: ReportRequest, fmt: str) -> str:
    """``ACTION_FROM_TO.EXT``: the first and last day of the range, in the report zone."""
    clock = ZoneClock(report.tz)
    first = clock.text(report.start_ts)[:10]
    last = clock.text(max(report.end_ts - 1, report.start_ts))[:10]
    return f'attachment; filename="{action}_{first}_{last}.{fmt}"'


async def _parameters(request: Request) -> params.Raw:
    query = params.collect(request.query_params.multi_items())
    if request.method != "POST":
        return query
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise InvalidValue("body", "the JSON body is not valid JSON") from None
        if not isinstance(body, dict):
            raise InvalidValue("body", "the JSON body must be an object")
        return params.merge(query, params.from_mapping(body))
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form()
        except (HTTPException, MultiPartException) as exc:  # a multipart body without boundary
            detail = exc.detail if isinstance(exc, HTTPException) else exc.message
            raise InvalidValue("body", f"the form body cannot be read: {detail}") from None
        items = [(k, v) for k, v in form.multi_items() if not isinstance(v, UploadFile)]
        return params.merge(query, params.collect(items))
    return query


def _basic_auth(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else None


def client_address(request: Request, settings: Settings) -> str:
    if settings.trust_proxy:
        # The last address is the one our own load balancer appended; earlier ones come
        # from the client and can be forged.
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else "unknown"
