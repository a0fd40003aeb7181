"""``AsyncClient``: the asyncio client over ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import date
from types import TracebackType
from typing import Unpack

import httpx

from agentcdr.client.core import DEFAULT_TIMEOUT, BaseClient, Options, raise_for
from agentcdr.client.errors import ClientError
from agentcdr.client.plan import Filters, Span, SpanFetch
from agentcdr.client.rows import CdrRow
from agentcdr.errors import ApiError


class AsyncClient(BaseClient):
    """The asyncio twin of ``Client``: the same arguments, async iterators.

    ``transport`` may be ``httpx.ASGITransport(app)`` to talk to an app in-process.
    """

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        verify: bool = True,
        **options: Unpack[Options],
    ) -> None:
        super().__init__(url, user, password, **options)
        self._http = httpx.AsyncClient(
            transport=transport, timeout=timeout, verify=verify, headers=self._headers()
        )

    async def agent_cdr(
        self,
        *,
        skip_days: Iterable[date] = (),
        page_size: int | None = None,
        **filters: Unpack[Filters],
    ) -> AsyncIterator[CdrRow]:
        """The report's rows, parsed as they arrive; see ``Filters`` for the arguments."""
        async for _span, rows in self.agent_cdr_spans(
            skip_days=skip_days, page_size=page_size, **filters
        ):
            async for row in rows:
                yield row

    async def agent_cdr_spans(
        self,
        *,
        skip_days: Iterable[date] = (),
        page_size: int | None = None,
        **filters: Unpack[Filters],
    ) -> AsyncIterator[tuple[Span, AsyncIterator[CdrRow]]]:
        """The report span by span, as ``Client.agent_cdr_spans``."""
        for fetch in self._fetches(filters, skip_days, page_size):
            yield fetch.span, self._rows(fetch)

    async def _rows(self, fetch: SpanFetch) -> AsyncIterator[CdrRow]:
        while not fetch.done:
            data = fetch.request()
            try:
                async with self._http.stream("POST", self.url, data=data) as response:
                    if response.status_code != 200:
                        raise_for(response.status_code, response.headers, await response.aread())
                    parser = fetch.parser(response.headers.get("content-type"))
                    async for chunk in response.aiter_bytes():
                        for row in fetch.take(parser.feed(chunk)):
                            yield row
                    for row in fetch.take(parser.close()):
                        yield row
                fetch.finished(parser.trailer)
            except (httpx.RequestError, ClientError, ApiError) as exc:
                await asyncio.sleep(fetch.failed(exc))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
