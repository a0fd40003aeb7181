"""The failed-login throttle holds: under concurrency, across the workers of a host (a shared
file), across hosts (Redis), for exact user names on every store, and without locking out a
known user because of other people's failures from the same address."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from agentcdr import auth
from agentcdr.auth import Authenticator, Throttle, hash_password
from agentcdr.counts import Counts, MemoryCounts, RedisCounts, SQLiteCounts, open_counts
from agentcdr.errors import BadCredentials, ConfigError, TooManyRequests
from agentcdr.store import open_call_store
from tests.conftest import API, USERS, ApiHarness, unavailable
from tests.livserver import serve
from tests.seed import seed

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}
REDIS_URL = os.environ.get("AGENTCDR_TEST_REDIS", "redis://127.0.0.1:6379/15")


def error(response, status: int, code: str, message: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.json() == {"result": "error", "code": code, "message": message}


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords argon2 was asked to verify, and the most at once (last item)."""
    calls: list[str] = []
    running = [0, 0]  # now, most
    lock = threading.Lock()
    real = auth.verify_password

    def counting(password_hash: str, password: str) -> bool:
        with lock:
            calls.append(password)
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.01)  # long enough for concurrent calls to overlap
        try:
            return real(password_hash, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(auth, "verify_password", counting)
    calls_with_peak = calls
    monkeypatch.setattr(auth, "_PEAK", running, raising=False)
    return calls_with_peak


async def _users(url: str) -> object:
    store = open_call_store(url)
    await store.open()
    assert store.users is not None
    await store.users.add_user("ops", hash_password("right password"), True, frozenset())
    await store.users.add_user("off", hash_password("right password"), True, frozenset())
    await store.users.update_user("off", active=False)
    return store


def _outcomes(results: list[object]) -> tuple[int, int, int]:
    bad = sum(isinstance(r, BadCredentials) for r in results)
    throttled = sum(isinstance(r, TooManyRequests) for r in results)
    return bad, throttled, len(results) - bad - throttled


def test_200_concurrent_guesses_for_one_user_get_10_verifications(
    sqlite_url: str, verifications: list[str]
) -> None:
    async def run() -> list[object]:
        store = await _users(sqlite_url)
        authenticator = Authenticator(store.users, Throttle(), verifications=2)  # type: ignore[attr-defined]
        guesses = [
            authenticator.authenticate("ops", f"guess {i}", "198.51.100.1") for i in range(200)
        ]
        try:
            return await asyncio.gather(*guesses, return_exceptions=True)
        finally:
            await store.close()  # type: ignore[attr-defined]

    assert _outcomes(asyncio.run(run())) == (10, 190, 0)
    assert len(verifications) == 10  # counted when they started, not when argon2 finished
    assert auth._PEAK[1] <= 2  # type: ignore[attr-defined]  # the semaphore's size


def test_100_concurrent_unknown_users_from_one_address_get_50(
    sqlite_url: str, verifications: list[str]
) -> None:
    async def run() -> list[object]:
        store = await _users(sqlite_url)
        authenticator = Authenticator(store.users, Throttle(), verifications=2)  # type: ignore[attr-defined]
        logins = [
            authenticator.authenticate(f"nobody{i}", "a guess", "198.51.100.2") for i in range(100)
        ]
        try:
            return await asyncio.gather(*logins, return_exceptions=True)
        finally:
            await store.close()  # type: ignore[attr-defined]

    assert _outcomes(asyncio.run(run())) == (50, 50, 0)
    assert len(verifications) == 50  # an unknown user costs a verification too
    assert auth._PEAK[1] <= 2  # type: ignore[attr-defined]


def test_a_disabled_user_costs_a_verification_like_a_wrong_password(
    sqlite_url: str, verifications: list[str]
) -> None:
    async def both() -> list[object]:
        store = await _users(sqlite_url)
        authenticator = Authenticator(store.users, Throttle())  # type: ignore[attr-defined]
        results: list[object] = []
        for password in ("right password", "wrong"):
            try:
                results.append(await authenticator.authenticate("off", password, "198.51.100.3"))
            except BadCredentials as exc:
                results.append(exc)
        await store.close()  # type: ignore[attr-defined]
        return results

    results = asyncio.run(both())
    assert [type(r) for r in results] == [BadCredentials, BadCredentials]
    assert verifications == ["right password", "wrong"]  # one argon2 run each, as for "ops"


def _two_workers(counts: Callable[[], Counts], sqlite_url: str) -> list[object]:
    """Two authenticators (two workers) with their own counts objects on one backend, 40
    concurrent guesses spread over both."""

    async def run() -> list[object]:
        store = await _users(sqlite_url)
        workers = [
            Authenticator(store.users, Throttle(counts=counts()))  # type: ignore[attr-defined]
            for _ in range(2)
        ]
        name = "ops"
        addr = f"198.51.100.{secrets.randbelow(200)}"
        guesses = [workers[i % 2].authenticate(name, f"guess {i}", addr) for i in range(40)]
        try:
            return await asyncio.gather(*guesses, return_exceptions=True)
        finally:
            for worker in workers:
                await worker.throttle.counts.close()
            await store.close()  # type: ignore[attr-defined]

    return asyncio.run(run())


def test_the_limit_holds_across_workers_sharing_a_file(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "limits.db"
    assert _outcomes(_two_workers(lambda: SQLiteCounts(path), sqlite_url)) == (10, 30, 0)


def test_workers_counting_apart_would_let_twice_the_limit_through(sqlite_url: str) -> None:
    # The control: what the shared file prevents.
    assert _outcomes(_two_workers(MemoryCounts, sqlite_url)) == (20, 20, 0)


@pytest.fixture
def redis_url() -> str:
    try:
        import redis
    except ImportError:
        unavailable("the redis package is not installed (pip install 'agentcdr[redis]')")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
    client.close()
    return REDIS_URL


def test_the_limit_holds_across_hosts_through_redis(sqlite_url: str, redis_url: str) -> None:
    prefix = f"agentcdr-test-{secrets.token_hex(4)}:"  # apart from other runs on the server
    counts = lambda: RedisCounts(redis_url, prefix)  # noqa: E731
    assert _outcomes(_two_workers(counts, sqlite_url)) == (10, 30, 0)


def test_redis_counts_give_back_clear_and_mark(redis_url: str) -> None:
    async def run() -> None:
        counts = RedisCounts(redis_url, f"agentcdr-test-{secrets.token_hex(4)}:")
        now = time.time()
        wait, token = await counts.take([("k", 1)], 60, now)
        assert wait is None
        wait, _ = await counts.take([("k", 1)], 60, now)
        assert wait is not None
        assert 59 < wait <= 60
        await counts.give_back(["k"], token)
        assert (await counts.look([("k", 1)], "m", 60, now)) == ([None], False)
        await counts.set_mark("m", 60, now)
        await counts.take([("k", 1)], 60, now)
        waits, marked = await counts.look([("k", 1)], "m", 60, now)
        assert marked
        assert waits[0] is not None
        await counts.clear("k")
        assert (await counts.look([("k", 1)], "m", 60, now))[0] == [None]
        await counts.close()

    asyncio.run(run())


def test_serve_shares_the_limit_among_its_workers(sqlite_url: str, tmp_path: Path) -> None:
    """A real two-worker server, hashing with production costs: 30 concurrent guesses,
    exactly 10 verified and refused, 20 throttled."""
    seed(sqlite_url, users=USERS)

    def guess(base: str, i: int) -> int:
        data = {
            "goAction": "agent_cdr",
            "goUser": "admin",
            "goPass": f"guess {i}",
            "responsetype": "json",
        }
        return httpx.post(f"{base}{API}", data=data, timeout=60).status_code

    with serve(sqlite_url, tmp_path, "--workers", "2") as base:
        results: list[int] = []
        threads = [
            threading.Thread(target=lambda i=i: results.append(guess(base, i))) for i in range(30)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(results) == [401] * 10 + [429] * 20


# -- exact names, and known users behind a busy address ---------------------------------------


@pytest.mark.parametrize("name", ["galonly ", "GALONLY", " galonly", "galonly\t"])
def test_user_names_match_exactly_on_every_store(api: ApiHarness, name: str) -> None:
    error(api.post(goUser=name, **DAY), 401, "10000", "Invalid Username/Password")
    assert api.post(goUser="galonly", **DAY).status_code == 200


def test_a_known_user_is_not_locked_out_by_others_from_the_same_address(
    sqlite_url: str, open_api: Callable[..., ApiHarness]
) -> None:
    seed(sqlite_url, users=USERS)
    api = open_api(sqlite_url, login_max_addr_failures=4, credential_cache_ttl=0)
    assert api.post(**DAY).status_code == 200  # admin works from this address
    for name in ("a1", "a2", "a3", "a4"):
        error(
            api.post(goUser=name, goPass="wrong", **DAY), 401, "10000", "Invalid Username/Password"
        )
    # The address is over its limit: admin still logs in (and is verified again: no cache),
    # but a name that never logged in from here is throttled, right password or not.
    for _ in range(3):
        assert api.post(**DAY).status_code == 200
    response = api.post(goUser="galonly", **DAY)
    assert response.status_code == 429
    assert response.json()["code"] == "10429"
    # admin's own failures still count against admin, here too.
    for _ in range(10):
        api.post(goPass="wrong", **DAY)
    assert api.post(**DAY).status_code == 429


def test_limits_url_chooses_where_counts_are_kept(tmp_path: Path) -> None:
    assert isinstance(open_counts(""), MemoryCounts)
    assert isinstance(open_counts(f"sqlite:///{tmp_path / 'limits.db'}"), SQLiteCounts)
    with pytest.raises(ConfigError) as caught:
        open_counts("memcached://127.0.0.1")
    assert caught.value.message == (
        "limits_url: unsupported scheme 'memcached': use '' (this process), sqlite:///PATH "
        "(the workers of a host) or redis://HOST:PORT/DB (every host)"
    )


def test_unreachable_counts_are_a_503_without_their_address(
    sqlite_url: str, open_api: Callable[..., ApiHarness], redis_url: str
) -> None:
    seed(sqlite_url, users=USERS)
    api = open_api(sqlite_url, limits_url="redis://127.0.0.1:9/0")  # nothing listens there
    error(api.post(**DAY), 503, "10007", "The login counts cannot be reached; try again later")
