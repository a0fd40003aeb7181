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
import math
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

import anyio.to_thread
from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from agentcdr.counts import Counts, MemoryCounts
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


# How long a correct login marks its (user, address) pair as known: such a pair may still
# log in while its address is over the failure limit (see ``Throttle``).
KNOWN_PAIR_SECONDS: Final = 86_400


@dataclass
class Throttle:
    """Failed logins per user name and per client address within a sliding window, counted
    in ``counts`` (this process, or shared by the workers of a host or by every host).

    A failure counts the moment its verification starts (an attempt takes its place in both
    windows first, and gives it back if the password was right), so a burst of concurrent
    guesses gets no more verifications than the limit.

    Over the user name's limit every attempt for that name is refused, right or wrong:
    telling them apart would take a verification, which is what the limit stops. Over the
    address's limit the address may still log in as a user that logged in correctly from it
    within ``KNOWN_PAIR_SECONDS`` (its failures still count for that user name): other
    people's failures from one address (an office behind one NAT) do not lock out the users
    who work from it, and a guesser there gets no more than each name's own limit.
    """

    max_per_user: int = 10
    max_per_addr: int = 50
    window: int = 900
    counts: Counts = field(default_factory=MemoryCounts)

    @staticmethod
    def keys(name: str, addr: str) -> tuple[str, str, str]:
        return f"user:{name.lower()}", f"addr:{addr}", f"pair:{name}\0{addr}"

    async def admit(self, name: str, addr: str, now: float) -> bool:
        """Raises ``TooManyRequests`` when the name, or the address for this name, is over
        its limit; returns whether the address is over its own (then only the name counts a
        failure). One read of the counts."""
        user_key, addr_key, pair = self.keys(name, addr)
        (user_wait, addr_wait), known = await self.counts.look(
            [(user_key, self.max_per_user), (addr_key, self.max_per_addr)],
            pair,
            self.window,
            now,
        )
        if user_wait is not None:
            raise TooManyRequests(math.ceil(user_wait))
        if addr_wait is not None and not known:
            raise TooManyRequests(math.ceil(addr_wait))
        return addr_wait is not None

    async def attempt(self, name: str, addr: str, now: float, addr_full: bool) -> Attempt:
        """Counts an attempt as a failure before it is verified (``TooManyRequests`` when
        one of its windows is full)."""
        user_key, addr_key, _ = self.keys(name, addr)
        keys = [(user_key, self.max_per_user)]
        if not addr_full:
            keys.append((addr_key, self.max_per_addr))
        wait, token = await self.counts.take(keys, self.window, now)
        if wait is not None:
            raise TooManyRequests(math.ceil(wait))
        return Attempt(name, addr, [k for k, _ in keys], token)

    async def succeeded(self, attempt: Attempt, now: float) -> None:
        """A correct login: its place is given back, its name's failures are forgotten, and
        its pair is known for a day."""
        user_key, _, pair = self.keys(attempt.name, attempt.addr)
        await self.counts.give_back(attempt.keys, attempt.token)
        await self.counts.clear(user_key)
        await self.counts.set_mark(pair, KNOWN_PAIR_SECONDS, now)


@dataclass(frozen=True)
class Attempt:
    name: str
    addr: str
    keys: list[str]
    token: str


class Authenticator:
    def __init__(
        self,
        users: UserStore | None,
        throttle: Throttle,
        cache_ttl: int = 60,
        external: LoginSource | None = None,
        verifications: int | None = None,
    ) -> None:
        self.users = users
        self.throttle = throttle
        self.cache_ttl = cache_ttl
        self.external = external  # e.g. VICIdial users, tried after agentcdr's own
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, tuple[ApiUser, float]] = {}
        self._verifying: dict[bytes, tuple[str, asyncio.Future[ApiUser | None]]] = {}
        # argon2 takes 64 MiB and a core for tens of milliseconds: more verifications at once
        # than cores only queue in threads, each holding its memory.
        self._slots = asyncio.Semaphore(verifications or os.cpu_count() or 1)

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
        now = time.time()
        addr_full = await self.throttle.admit(name, addr, now)
        key = self._cache_key(name, password)
        user = await self.users.get_user(name) if self.users is not None else None
        if user is not None and user.active:
            cached = self._cached(key, user, now)
        elif user is None and self.external is not None:
            cached = self._cached(key, None, now)
        else:
            cached = None
        if cached is not None:
            return cached  # verified a moment ago: no new verification, nothing counted
        stamp = user.password_hash if user is not None else ""
        verified = await self._verify_once(
            key, stamp, lambda: self._login(key, name, password, user, addr, addr_full)
        )
        if verified is None:
            raise BadCredentials()  # counted already, when the attempt was taken
        return verified

    async def _login(
        self,
        key: bytes,
        name: str,
        password: str,
        user: ApiUser | None,
        addr: str,
        addr_full: bool,
    ) -> ApiUser | None:
        """An attempt counted as a failure, then verified (and given back when right)."""
        now = time.time()
        attempt = await self.throttle.attempt(name, addr, now, addr_full)
        verified = await self._check(name, password, user)
        if verified is not None:
            await self.throttle.succeeded(attempt, now)
            self._remember(key, verified, now)
        return verified

    async def _check(self, name: str, password: str, user: ApiUser | None) -> ApiUser | None:
        """One verification, within the slots: the same work whatever the outcome (an
        unknown user or a disabled one verifies too)."""
        async with self._slots:
            if user is not None:
                ok = await anyio.to_thread.run_sync(verify_password, user.password_hash, password)
                return user if ok and user.active else None
            if self.external is not None:
                return await self.external.verify(name, password)
            await anyio.to_thread.run_sync(verify_password, _dummy_hash(), password)
            return None

    async def _verify_once(
        self, key: bytes, stamp: str, login: Callable[[], Awaitable[ApiUser | None]]
    ) -> ApiUser | None:
        """A verification shared by concurrent requests with the same credentials.

        After a restart the cache is cold, and a client opening 32 connections at once would
        otherwise run 32 verifications of tens of milliseconds of CPU each (nothing answered
        for seconds: docs/benchmarks.md, finding 5). ``key`` stands for the (name, password)
        pair, so requests that share it share the answer (and count as one attempt: the
        one that started it took the place).
        """
        running = self._verifying.get(key)
        if running is None or running[0] != stamp:
            task = asyncio.ensure_future(login())
            running = self._verifying[key] = (stamp, task)

            def forget(done: asyncio.Future[ApiUser | None]) -> None:
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
