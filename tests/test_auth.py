"""The authenticator's own guarantees, below the HTTP layer."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys

import argon2
import pytest

from agentcdr import auth
from agentcdr.auth import Authenticator, Throttle, hash_password, verify_password
from agentcdr.errors import BadCredentials
from agentcdr.store.sql.sqlite import SQLiteStore


def test_concurrent_first_logins_share_one_verification(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(sqlite_url)
    asyncio.run(store.open())
    asyncio.run(store.users.add_user("ops", hash_password("right password"), True, frozenset()))
    user = asyncio.run(store.users.get_user("ops"))
    calls: list[str] = []
    real = auth.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    authenticator = Authenticator(store.users, Throttle(), cache_ttl=60)

    async def burst() -> list[object]:
        logins = [
            authenticator.authenticate("ops", "right password", "10.0.0.1") for _ in range(20)
        ]
        wrong = [authenticator.authenticate("ops", "wrong password", "10.0.0.1") for _ in range(3)]
        return await asyncio.gather(*logins, *wrong, return_exceptions=True)

    results = asyncio.run(burst())
    assert results[:20] == [user] * 20
    assert all(isinstance(r, BadCredentials) for r in results[20:])
    # One argon2 run per distinct pair, however many requests arrived together.
    assert sorted(calls) == ["right password", "wrong password"]
    asyncio.run(store.close())


def test_an_unknown_user_costs_the_same_hashing_as_a_wrong_password(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(sqlite_url)
    asyncio.run(store.open())
    asyncio.run(store.users.add_user("ops", hash_password("right password"), True, frozenset()))
    verified: list[str] = []
    real = auth.verify_password

    def counting(password_hash: str, password: str) -> bool:
        verified.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    authenticator = Authenticator(store.users, Throttle(), cache_ttl=60)
    for name in ("ops", "nobody"):
        with pytest.raises(BadCredentials):
            asyncio.run(authenticator.authenticate(name, "a guess", "10.0.0.2"))
    assert verified == ["a guess", "a guess"]  # one argon2 verification each
    asyncio.run(store.close())


def test_users_add_hashes_with_the_recommended_argon2id_costs(sqlite_url: str) -> None:
    """Production mode: the command as a process of its own, where nothing set cheap costs."""
    command = ["users", "add", "ops", "--all-tenants", "--password-stdin"]
    added = subprocess.run(
        [sys.executable, "-m", "agentcdr", "--db", sqlite_url, *command],
        input="right password\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        (stored,) = db.execute("SELECT password_hash FROM api_users").fetchone()
    assert stored.startswith("$argon2id$")
    assert argon2.extract_parameters(stored) == argon2.profiles.get_default_parameters()
    assert auth.PRODUCTION == argon2.profiles.RFC_9106_LOW_MEMORY  # 64 MiB, 3 passes, 4 lanes
    assert verify_password(stored, "right password")


def test_the_suite_hashes_cheaply_and_other_costs_still_verify() -> None:
    cheap = hash_password("right password")
    assert argon2.extract_parameters(cheap) == argon2.profiles.CHEAPEST
    try:
        auth.use_parameters(auth.PRODUCTION)
        costly = hash_password("right password")
        assert verify_password(cheap, "right password")  # costs come from the hash
    finally:
        auth.use_parameters(argon2.profiles.CHEAPEST)
    assert argon2.extract_parameters(costly) == auth.PRODUCTION
    assert verify_password(costly, "right password")
    assert not verify_password(costly, "wrong password")
