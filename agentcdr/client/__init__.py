"""The agent_cdr client: ``Client`` (blocking) and ``AsyncClient`` (asyncio) over httpx.

Rows are parsed as the bytes arrive, long ranges are fetched a span of days at a time with
retries, and every failure is a typed exception. See ``docs/client.md``.
"""

from __future__ import annotations

from agentcdr.client.aio import AsyncClient
from agentcdr.client.blocking import Client
from agentcdr.client.errors import (
    ClientError,
    IncompleteResponse,
    InvalidArgument,
    MalformedResponse,
    NetworkError,
)
from agentcdr.client.plan import Filters, RetryPolicy, Span
from agentcdr.client.rows import CdrRow
from agentcdr.errors import (
    ApiError,
    AuthError,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
    ServerUnavailable,
)

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthError",
    "CdrRow",
    "Client",
    "ClientError",
    "Filters",
    "IncompleteResponse",
    "InvalidArgument",
    "InvalidRequest",
    "MalformedResponse",
    "NetworkError",
    "PermissionDenied",
    "RateLimited",
    "RetryPolicy",
    "ServerUnavailable",
    "Span",
]
