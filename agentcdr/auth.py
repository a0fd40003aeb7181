"""API users: password hashing, verification with a safe cache, and login throttling.

argon2id costs tens of milliseconds per check on purpose; doing it on every request would cap
the API at a few dozen requests per second. A verified (name, password) pair is remembered
under an HMAC of the pair with a per-process random key (the cache never holds a password or
anything an attacker could test guesses against offline), for a short time, and only while the
user row is unchanged: every request still reads the user, so disabling a user or changing a
password takes effect at once, in every worker.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Final

import anyio.to_thread
from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from agentcdr.errors import BadCredentials, TooManyRequests
from agentcdr.records import ApiUser
from agentcdr.store.base import LoginSource, UserStore

# argon2id with the library's recommended costs (RFC 9106, low-memory: 64 MiB, 3 passes).
PRODUCTION: Final[Parameters] = profiles.get_default_parameters()


@dataclass
class _Hashing:
    hasher: PasswordHasher


_HASHING: Final = _Hashing(PasswordHasher.from_parameters(PRODUCTION))


def use_parameters(parameters: Parameters) -> None:
    """The costs of hashes made from now on. Nothing in agentcdr calls it: production hashes
    with ``PRODUCTION``; the test suite sets argon2's cheapest, so its many users do not cost
    64 MiB and tens of milliseconds each. Verification reads the costs from each hash, so
    hashes made with other costs keep verifying."""
    _HASHING.hasher = PasswordHasher.from_parameters(parameters)
    _dummy_hash.cache_clear()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown users (made on first need: it costs 64 MiB)."""
    return _HASHING.hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _HASHING.hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHING.hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass
class Throttle:
    """Failed logins per user name and per client address within a sliding window."""

    max_per_user: int = 10
    max_per_addr: int = 50
    window: int = 900
    _users: dict[str, deque[float]] = field(default_factory=dict)
    _addrs: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, table: dict[str, deque[float]], key: str, now: float) -> deque[float]:
        times = table.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del table[key]
        return times

    def check(self, name: str, addr: str, now: float) -> None:
        for table, key, limit in (
            (self._users, name.lower(), self.max_per_user),
            (self._addrs, addr, self.max_per_addr),
        ):
            times = self._recent(table, key, now)
            if len(times) >= limit:
                raise TooManyRequests(max(1, int(times[0] + self.window - now) + 1))

    def failed(self, name: str, addr: str, now: float) -> None:
        self._users.setdefault(name.lower(), deque()).append(now)
        self._addrs.setdefault(addr, deque()).append(now)

    def succeeded(self, name: str) -> None:
        self._users.pop(name.lower(), None)


class Authenticator:
    def __init__(
        self,
        users: UserStore | None,
        throttle: Throttle,
        cache_ttl: int = 60,
        external: LoginSource | None = None,
    ) -> None:
        self.users = users
        self.throttle = throttle
        self.cache_ttl = cache_ttl
        self.external = external  # e.g. VICIdial users, tried after agentcdr's own
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, tuple[ApiUser, float]] = {}
        self._verifying: dict[bytes, tuple[str, asyncio.Future[bool]]] = {}

    def _cache_key(self, name: str, password: str) -> bytes:
        pair = name.encode() + b"\0" + password.encode()
        return hmac.new(self._key, pair, hashlib.sha256).digest()

    def _cached(self, key: bytes, user: ApiUser | None, now: float) -> ApiUser | None:
        entry = self._cache.get(key)
        if entry is None or entry[1] <= now:
            return None
        remembered = entry[0]
        if user is None:
            # An external user: nothing local to compare with, so only the short lifetime.
            return remembered
        same = (remembered.password_hash, remembered.version) == (user.password_hash, user.version)
        return user if same else None

    async def authenticate(self, name: str, password: str, addr: str) -> ApiUser:
        now = time.monotonic()
        self.throttle.check(name, addr, now)
        key = self._cache_key(name, password)
        user = await self.users.get_user(name) if self.users is not None else None
        verified: ApiUser | None = None
        if user is not None:
            if user.active:
                verified = self._cached(key, user, now)
                if verified is None and await self._verify_once(key, user.password_hash, password):
                    verified = user
        elif self.external is not None:
            verified = self._cached(key, None, now) or await self.external.verify(name, password)
        else:
            # The same work for an unknown user as for a wrong password.
            await anyio.to_thread.run_sync(verify_password, _dummy_hash(), password)
        if verified is None:
            self.throttle.failed(name, addr, now)
            raise BadCredentials()
        self.throttle.succeeded(name)
        self._remember(key, verified, now)
        return verified

    async def _verify_once(self, key: bytes, password_hash: str, password: str) -> bool:
        """argon2 verification, shared by concurrent requests with the same credentials.

        After a restart the cache is cold, and a client opening 32 connections at once would
        otherwise run 32 verifications of tens of milliseconds of CPU each (nothing answered
        for seconds: docs/benchmarks.md, finding 5). ``key`` stands for the (name, password)
        pair, so requests that share it share the answer.
        """
        running = self._verifying.get(key)
        if running is None or running[0] != password_hash:
            task = asyncio.ensure_future(
                anyio.to_thread.run_sync(verify_password, password_hash, password)
            )
            running = self._verifying[key] = (password_hash, task)

            def forget(done: asyncio.Future[bool]) -> None:
                if self._verifying.get(key, ("", None))[1] is done:
                    del self._verifying[key]

            task.add_done_callback(forget)
        return await asyncio.shield(running[1])

    def _remember(self, key: bytes, user: ApiUser, now: float) -> None:
        if self.cache_ttl <= 0:
            return
        if len(self._cache) > 10_000:
            self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
        self._cache[key] = (user, now + self.cache_ttl)
