"""The goAPI endpoint: parse, authenticate, then answer the action (the report, streamed; or
its summary). Nothing else.

Every failure before the first byte becomes one error body (JSON, or XML when the caller
asked for XML) with the code and status of its ``ApiError`` class; anything else is an
``InternalError`` whose request id is logged with the traceback. A failure after the first
byte cannot change the status any more; the connection is then aborted so that a client never
mistakes a truncated report for a complete one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import math
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import BinaryIO, Final
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Message

from agentcdr import params
from agentcdr.auth import Authenticator
from agentcdr.clock import ZoneClock
from agentcdr.encoders import ENCODERS, MEDIA_TYPES, error_body
from agentcdr.encoders.summary import encode_summary
from agentcdr.encoders.xlsx import write_workbook
from agentcdr.errors import (
    REPORT_METHODS,
    SERVED_METHODS,
    ApiError,
    BodyTooLarge,
    InternalError,
    InvalidValue,
    MethodNotAllowed,
    TooManyRequests,
)
from agentcdr.limits import Limits, Slot
from agentcdr.paging import Page
from agentcdr.records import ReportRequest
from agentcdr.render import TEXT_KINDS, RowStyle
from agentcdr.settings import Settings
from agentcdr.store.base import CallStore, RowStream, TextStream
from agentcdr.summary import totals
from agentcdr.web import metrics
from agentcdr.web.streaming import ReportStream

log = logging.getLogger("agentcdr.api")

Tenants = tuple[str, ...] | None

# Every answer's Access-Control-* headers come from agentcdr.web.cors (the cors_origins
# setting); the API sets none of its own.
ALLOW: Final = ", ".join(SERVED_METHODS)
# Formats that a browser saves to a file (the report page's exports are form submissions).
DOWNLOADS: Final = ("csv", "ndjson", "xlsx")


@dataclass
class Api:
    settings: Settings
    store: CallStore
    auth: Authenticator
    limits: Limits

    @property
    def rules(self) -> params.Limits:
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
            query = params.collect(request.query_params.multi_items())
            fmt = params.error_format(query)  # until the body says otherwise
            raw = await _parameters(request, query, self.settings.max_body_bytes)
            fmt = params.error_format(raw)
            return await self._answer(request, raw, request_id)
        except ApiError as exc:
            if exc.status >= 500:  # an outage (or a bug): the operator's to see, by request id
                log.warning(
                    "request %s: %s %s: %s (%s)",
                    request_id,
                    exc.status,
                    exc.code,
                    exc.message,
                    _cause(exc),
                )
            request.state.format = fmt
            return self.error(exc, fmt, request_id)
        except Exception:  # a ConfigError or a bug: what it says is for the log, not the caller
            log.exception("unexpected error in request %s", request_id)
            request.state.format = fmt
            return self.error(InternalError(request_id), fmt, request_id)

    async def _answer(self, request: Request, raw: params.Raw, request_id: str) -> Response:
        if request.method not in REPORT_METHODS:  # HEAD comes as a GET (agentcdr.web.head)
            raise MethodNotAllowed(request.method)
        started = time.perf_counter()
        action = params.action(raw)
        fmt = params.response_type(raw, action)
        name, password = params.credentials(raw, _basic_auth(request))
        try:
            user = await self.auth.authenticate(
                name, password, client_address(request, self.settings)
            )
        except TooManyRequests:
            self.limits.count("login_throttled")
            raise
        request.state.api_user = user.name
        await self.limits.request(user.name)
        tenants = params.tenant_scope(raw, user)
        headers = {"X-Request-ID": request_id, "Cache-Control": "no-store"}
        slot = self.limits.report(user.name)
        try:
            if action == params.SUMMARY:
                response = await self._summary(raw, fmt, tenants, headers, started)
            else:
                response = await self._report(raw, fmt, tenants, headers, slot, request_id, started)
        finally:
            slot.release()  # a no-op for a stream, whose body gives its place back at its end
        request.state.format = fmt
        return response

    async def _report(
        self,
        raw: params.Raw,
        fmt: str,
        tenants: Tenants,
        headers: dict[str, str],
        slot: Slot,
        request_id: str,
        started: float,
    ) -> Response:
        report = params.build_request(raw, tenants, self.rules, time.time())
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
            # Open, then unlink: the open file keeps its bytes and nothing stays on disk. (A
            # FileResponse removing the file in a background task raced granian, which sends
            # a file by its path after the app returns: a 404 "Not found" instead.)
            workbook = path.open("rb")
            path.unlink()
            size = os.fstat(workbook.fileno()).st_size
            metrics.count_report(params.REPORT, fmt, page.count, size, started)
            headers["Content-Length"] = str(size)
            return StreamingResponse(
                _file_chunks(workbook), media_type=MEDIA_TYPES[fmt], headers=headers
            )
        body = ENCODERS[fmt](style, page)
        if await page.read_ahead(chunk_rows):
            # The whole report is already in hand: one response with a Content-Length is
            # cheaper than a stream, and most requests are small.
            whole = b"".join([chunk async for chunk in body])
            metrics.count_report(params.REPORT, fmt, page.count, len(whole), started)
            return Response(whole, media_type=MEDIA_TYPES[fmt], headers=headers)
        body = metrics.observed(body, params.REPORT, fmt, started, page)
        return ReportStream(
            _holding(body, page, slot.take()),
            send_timeout=self.settings.send_timeout,
            request_id=request_id,
            on_cut=lambda: self.limits.count("slow_client_cut"),
            media_type=MEDIA_TYPES[fmt],
            headers=headers,
        )

    async def _summary(
        self,
        raw: params.Raw,
        fmt: str,
        tenants: Tenants,
        headers: dict[str, str],
        started: float,
    ) -> Response:
        group_by = params.group_by(raw)
        request = params.build_request(raw, tenants, self.rules, time.time(), params.SUMMARY)
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


async def _holding(
    body: AsyncIterator[bytes], page: Page, slot: Slot
) -> AsyncGenerator[bytes, None]:
    """A report's bytes, holding its place until they end, however they end (the page's
    stream closed too: closing this generator does not close the encoder's)."""
    try:
        async for chunk in body:
            yield chunk
    finally:
        slot.release()
        await page.aclose()


async def _file_chunks(file: BinaryIO) -> AsyncGenerator[bytes, None]:
    try:
        while chunk := await asyncio.to_thread(file.read, 1 << 16):
            yield chunk
    finally:
        file.close()


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__
    return "no cause" if cause is None else f"{type(cause).__name__}: {str(cause)[:300]}"


def attachment(action: str, report: ReportRequest, fmt: str) -> str:
    """``ACTION_FROM_TO.EXT``: the first and last day of the range, in the report zone."""
    clock = ZoneClock(report.tz)
    first = clock.text(report.start_ts)[:10]
    last = clock.text(max(report.end_ts - 1, report.start_ts))[:10]
    return f'attachment; filename="{action}_{first}_{last}.{fmt}"'


FORMS: Final = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _parameters(request: Request, query: params.Raw, max_body: int) -> params.Raw:
    if request.method != "POST":
        return query
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and content_type not in FORMS:
        return query  # a body of another type is never read
    body = await read_body(request, max_body)
    if content_type == "application/json":
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if "depth" in str(exc):  # orjson's own limit, before any memory is spent
                raise InvalidValue("body", "the JSON body nests deeper than 1024 levels") from None
            raise InvalidValue("body", "the JSON body is not valid JSON") from None
        if not isinstance(value, dict):
            raise InvalidValue("body", "the JSON body must be an object")
        return params.merge(query, params.from_mapping(value))
    return params.merge(query, params.collect(await _form(request, body), "body"))


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (``BodyTooLarge``) as soon as it is known to be over ``limit``
    bytes: by its Content-Length, else while it arrives (a chunked body has none)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _form(request: Request, body: bytes) -> list[tuple[str, str]]:
    """The fields of a form body already read (files are ignored), within the parameter
    limits; a form that cannot be read is ``41004`` naming what was wrong."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        # What most clients send, parsed as starlette's form parser reads it (the bytes as
        # Latin-1, then %-escapes as UTF-8), at a fifth of its cost per request.
        # Empty segments ("a=1&&b=2", a trailing "&") are no fields, so the count comes after
        # parsing (parse_qsl's own limit counts "&"); the body's size bounds the work.
        fields = parse_qsl(
            body.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace"
        )
        if len(fields) > params.MAX_PARAMETERS:
            detail = f"Too many fields. Maximum number of fields is {params.MAX_PARAMETERS}."
            raise InvalidValue("body", f"the form cannot be read: {detail}")
        return fields

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(
            max_files=params.MAX_PARAMETERS,
            max_fields=params.MAX_PARAMETERS,
            max_part_size=params.MAX_VALUE_CHARS * 4,  # UTF-8 takes up to 4 bytes a character
        )
    except (HTTPException, MultiPartException) as exc:  # a 400 of starlette's form parsers,
        # or a multipart body without its boundary
        detail = exc.detail if isinstance(exc, HTTPException) else exc.message
        raise InvalidValue("body", f"the form cannot be read: {detail}") from None
    return [(k, v) for k, v in form.multi_items() if not isinstance(v, UploadFile)]


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
