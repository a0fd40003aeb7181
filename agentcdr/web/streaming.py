"""The streamed response of a report: every chunk must leave within a time limit.

A client that reads slowly (or not at all) holds a report's database connection and its
buffers for as long as it takes; a thousand such clients would hold every connection of the
pool and every byte of memory. So each chunk's ``send`` waits at most the ``send_timeout``
setting: past it the report is cut (the connection is aborted, as on a database failure, so
the client sees a truncated document), and its rows, buffers and connection are released at
once. Whatever ends the response (the last chunk, a cut, a failure, a client gone) closes the
body's generator right away, which releases the store's connection and the report's slot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Send

from agentcdr.errors import ApiError

log = logging.getLogger("agentcdr.api")


class ReportStream(StreamingResponse):
    def __init__(
        self,
        body: AsyncGenerator[bytes, None],
        *,
        send_timeout: float,
        request_id: str,
        on_cut: Callable[[], object] = lambda: None,
        **kwargs: Any,
    ) -> None:
        super().__init__(body, **kwargs)
        self._body = body
        self._on_cut = on_cut
        self._send_timeout = send_timeout
        self._request_id = request_id

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        async with aclosing(self._body) as body:
            try:
                async for chunk in body:
                    if not await self._sent_in_time(send, chunk):
                        # Cut: returning without the last chunk makes the server close the
                        # connection, and the client sees a truncated document.
                        return
            except OSError:  # the client went away
                raise
            except Exception as exc:
                # The status went out long ago: the connection is aborted (docs/api.md, "Errors").
                log.error(
                    "request %s: the report failed after its first bytes (%s); connection aborted",
                    self._request_id,
                    getattr(exc, "message", None) or type(exc).__name__,
                    exc_info=not isinstance(exc, ApiError),  # a bug's traceback, not an outage's
                )
                raise
        await self._sent_in_time(send, b"", more=False)

    async def _sent_in_time(self, send: Send, chunk: bytes, more: bool = True) -> bool:
        try:
            async with asyncio.timeout(self._send_timeout):
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
        except TimeoutError:
            self._on_cut()
            log.warning(
                "request %s: the client took no data for %g s; report cut",
                self._request_id,
                self._send_timeout,
            )
            return False
        return True
