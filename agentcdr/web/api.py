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
from dataclasses import dataclass
from typing import Final

import orjson
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from agentcdr import params
from agentcdr.auth import Authenticator
from agentcdr.clock import ZoneClock
from agentcdr.encoders import ENCODERS, MEDIA_TYPES, error_body
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
from agentcdr.render import TEXT_KINDS, RowStyle
from agentcdr.settings import Settings
from agentcdr.store.base import CallStore, RowStream, TextStream
from agentcdr.summary import totals

log = logging.getLogger("agentcdr.api")

Tenants = tuple[str, ...] | None

CORS: Final = {"Access-Control-Allow-Origin": "*"}
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
        headers = {**CORS, "X-Request-ID": request_id}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(exc.retry_after))
        if exc.status == 405:
            headers["Allow"] = "GET, POST"
        return Response(
            error_body(exc, fmt),
            status_code=200 if self.settings.http_200 else exc.status,
            media_type=MEDIA_TYPES["xml" if fmt == "xml" else "json"],
            headers=headers,
        )

    async def handle(self, request: Request) -> Response:
        request_id: str = request.state.request_id
        fmt = "json"
        try:
            raw = await _parameters(request)
            fmt = params.error_format(raw)
            return await self._answer(request, raw, request_id)
        except ApiError as exc:
            return self.error(exc, fmt, request_id)
        except Exception:  # a ConfigError or a bug: what it says is for the log, not the caller
            log.exception("unexpected error in request %s", request_id)
            return self.error(InternalError(request_id), fmt, request_id)

    async def _answer(self, request: Request, raw: params.Raw, request_id: str) -> Response:
        if request.method not in ("GET", "POST"):
            raise MethodNotAllowed(request.method)
        action = params.action(raw)
        fmt = params.response_type(raw, action)
        name, password = params.credentials(raw, _basic_auth(request))
        user = await self.auth.authenticate(name, password, client_address(request, self.settings))
        request.state.api_user = user.name
        tenants = params.tenant_scope(raw, user)
        headers = {**CORS, "X-Request-ID": request_id, "Cache-Control": "no-store"}
        if action == params.SUMMARY:
            return await self._summary(raw, fmt, tenants, headers)
        return await self._report(raw, fmt, tenants, headers)

    async def _report(
        self, raw: params.Raw, fmt: str, tenants: Tenants, headers: dict[str, str]
    ) -> Response:
        report = params.build_request(raw, tenants, self.limits, time.time())
        neutralize = params.csv_formulas(raw) and fmt == "csv"
        style = RowStyle(fmt, report.fields, report.tz, neutralize)
        chunk_rows = self.settings.chunk_rows
        stream: RowStream | TextStream | None = None
        if report.tenants != ():  # an empty scope cannot match anything: no query at all
            if fmt in TEXT_KINDS:  # rows the database renders, where it can
                stream = await self.store.rendered(report, style, chunk_rows)
            if stream is None:
                stream = await self.store.report(report, chunk_rows)
        page = Page(report, stream, params.describe(report))
        if fmt in DOWNLOADS:
            headers["Content-Disposition"] = attachment("agent_cdr", report, fmt)
        if fmt == "xlsx":
            path = await write_workbook(report, page)
            return FileResponse(
                path,
                media_type=MEDIA_TYPES[fmt],
                headers=headers,
                background=BackgroundTask(path.unlink),
            )
        body = ENCODERS[fmt](style, page)
        if await page.read_ahead(chunk_rows):
            # The whole report is already in hand: one response with a Content-Length is
            # cheaper than a stream, and most requests are small.
            whole = b"".join([chunk async for chunk in body])
            return Response(whole, media_type=MEDIA_TYPES[fmt], headers=headers)
        return StreamingResponse(body, media_type=MEDIA_TYPES[fmt], headers=headers)

    async def _summary(
        self, raw: params.Raw, fmt: str, tenants: Tenants, headers: dict[str, str]
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
        return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


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
        form = await request.form()
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
