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

log = logging.getLogger("agentcdr.api")


class SlowClient(Exception):
    """The client did not take a chunk within the send time limit."""


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
                    await self._send_in_time(send, chunk)
            except (SlowClient, OSError):  # cut here, or the client went away
                raise
            except Exception as exc:
                # The status went out long ago: the connection is aborted (docs/api.md, "Errors").
                log.error(
                    "request %s: the report failed after its first bytes (%s); connection aborted",
                    self._request_id,
                    getattr(exc, "message", None) or type(exc).__name__,
                )
                raise
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send_in_time(self, send: Send, chunk: bytes) -> None:
        try:
            async with asyncio.timeout(self._send_timeout):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except TimeoutError:
            self._on_cut()
            log.warning(
                "request %s: the client took no data for %g s; report cut",
                self._request_id,
                self._send_timeout,
            )
            raise SlowClient() from None
