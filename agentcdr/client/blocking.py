"""``Client``: the blocking client over ``httpx.Client``."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import date
from types import TracebackType
from typing import Unpack

import httpx

from agentcdr.client.core import DEFAULT_TIMEOUT, BaseClient, Options, raise_for
from agentcdr.client.errors import ClientError
from agentcdr.client.plan import Filters, Span, SpanFetch
from agentcdr.client.rows import CdrRow
from agentcdr.errors import ApiError


class Client(BaseClient):
    """A blocking agent_cdr client. Use it as a context manager, or call ``close()``.

    ``transport`` replaces the network (``httpx.MockTransport``, a WSGI app, ...);
    the other options are those of ``Options``.
    """

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        verify: bool = True,
        **options: Unpack[Options],
    ) -> None:
        super().__init__(url, user, password, **options)
        self._http = httpx.Client(
            transport=transport, timeout=timeout, verify=verify, headers=self._headers()
        )

    def agent_cdr(
        self,
        *,
        skip_days: Iterable[date] = (),
        page_size: int | None = None,
        **filters: Unpack[Filters],
    ) -> Iterator[CdrRow]:
        """The report's rows, parsed as they arrive; see ``Filters`` for the arguments."""
        for _span, rows in self.agent_cdr_spans(
            skip_days=skip_days, page_size=page_size, **filters
        ):
            yield from rows

    def agent_cdr_spans(
        self,
        *,
        skip_days: Iterable[date] = (),
        page_size: int | None = None,
        **filters: Unpack[Filters],
    ) -> Iterator[tuple[Span, Iterator[CdrRow]]]:
        """The report span by span: each span with an iterator of its rows, to be consumed
        before the next span is asked for. A span whose rows were consumed to the end is
        complete, so a resumable caller records it then; closed spans whose days are all in
        ``skip_days`` are not fetched."""
        for fetch in self._fetches(filters, skip_days, page_size):
            yield fetch.span, self._rows(fetch)

    def _rows(self, fetch: SpanFetch) -> Iterator[CdrRow]:
        while not fetch.done:
            data = fetch.request()
            try:
                with self._http.stream("POST", self.url, data=data) as response:
                    if response.status_code != 200:
                        raise_for(response.status_code, response.headers, response.read())
                    parser = fetch.parser(response.headers.get("content-type"))
                    for chunk in response.iter_bytes():
                        yield from fetch.take(parser.feed(chunk))
                    yield from fetch.take(parser.close())
                fetch.finished(parser.trailer)
            except (httpx.RequestError, ClientError, ApiError) as exc:
                time.sleep(fetch.failed(exc))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
