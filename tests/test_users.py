"""``agentcdr users``, and what user changes do to requests already being served."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentcdr.cli import main
from tests.conftest import ApiHarness
from tests.seed import seed

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}


def cli(url: str, *args: str, input: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--db", url, *args], input=input, env=env or {})


def stored(url: str, name: str) -> tuple[str, ...]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute(
            "SELECT password_hash, all_tenants, tenants, active FROM api_users WHERE name = ?",
            (name,),
        ).fetchone()


def test_add_from_stdin_env_and_prompt(sqlite_url: str) -> None:
    result = cli(
        sqlite_url,
        "users",
        "add",
        "ana",
        "--tenant",
        "gal",
        "--tenant",
        "CSC,brk",
        "--password-stdin",
        input="first password\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output == "added user ana\n"
    password_hash, all_tenants, tenants, active = stored(sqlite_url, "ana")
    assert password_hash.startswith("$argon2id$")
    assert "first password" not in password_hash
    assert (all_tenants, tenants, active) == (0, "BRK,CSC,GAL", 1)

    env_result = cli(
        sqlite_url,
        "users",
        "add",
        "ben",
        "--all-tenants",
        env={"AGENTCDR_PASSWORD": "from the env"},
    )
    assert env_result.exit_code == 0, env_result.output
    prompt = cli(
        sqlite_url, "users", "add", "cy", "--all-tenants", input="typed password\ntyped password\n"
    )
    assert prompt.exit_code == 0, prompt.output
    listing = cli(sqlite_url, "users", "list")
    assert listing.output == (
        "ana\tactive\tBRK,CSC,GAL\nben\tactive\tall tenants\ncy\tactive\tall tenants\n"
    )


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["dan"], "long enough pw\n", "give either --tenant XXX (one or more) or --all-tenants"),
        (
            ["dan", "--all-tenants", "--tenant", "GAL"],
            "long enough pw\n",
            "give either --tenant XXX (one or more) or --all-tenants",
        ),
        (["dan", "--tenant", "GALX"], "long enough pw\n", "not a 3-character tenant code: 'GALX'"),
        (["dan", "--all-tenants"], "short\n", "the password must have at least 8 characters"),
        (
            ["bad name!", "--all-tenants"],
            "long enough pw\n",
            "invalid user name 'bad name!': use letters, digits and . _ @ -",
        ),
    ],
)
def test_add_refuses_bad_input_and_writes_nothing(
    sqlite_url: str, args: list[str], stdin: str, message: str
) -> None:
    result = cli(sqlite_url, "users", "add", *args, "--password-stdin", input=stdin)
    assert result.exit_code == 1
    assert result.output == f"agentcdr: error: {message}\n"
    # Names and tenants are checked before the store is opened: no file is made for them.
    if Path(sqlite_url.removeprefix("sqlite:///")).exists():
        assert message.startswith("the password")
        assert cli(sqlite_url, "users", "list").output == ""


def test_password_is_never_an_argument(sqlite_url: str) -> None:
    result = cli(sqlite_url, "users", "add", "eve", "--all-tenants", "--password", "x")
    assert result.exit_code == 2
    assert "No such option '--password'" in result.output


def test_duplicate_user(sqlite_url: str) -> None:
    env = {"AGENTCDR_PASSWORD": "long enough pw"}
    assert cli(sqlite_url, "users", "add", "ana", "--all-tenants", env=env).exit_code == 0
    again = cli(sqlite_url, "users", "add", "ana", "--all-tenants", env=env)
    assert (again.exit_code, again.output) == (1, "agentcdr: error: user 'ana' already exists\n")
    quiet = cli(sqlite_url, "users", "add", "ana", "--all-tenants", "--if-missing", env=env)
    assert (quiet.exit_code, quiet.output) == (0, "user ana exists; left unchanged\n")
    missing = cli(sqlite_url, "users", "disable", "zed")
    assert (missing.exit_code, missing.output) == (1, "agentcdr: error: no such user: 'zed'\n")


@pytest.fixture
def live(sqlite_url: str, open_api: Callable[..., ApiHarness]) -> ApiHarness:
    seed(sqlite_url)
    env = {"AGENTCDR_PASSWORD": "old password"}
    assert cli(sqlite_url, "users", "add", "ops", "--all-tenants", env=env).exit_code == 0
    return open_api(sqlite_url)


def test_user_changes_take_effect_at_once_despite_the_cache(
    sqlite_url: str, live: ApiHarness
) -> None:
    def status(password: str) -> int:
        return live.post(goUser="ops", goPass=password, **DAY).status_code  # type: ignore[no-any-return]

    assert status("old password") == 200
    assert status("old password") == 200  # now served from the credential cache
    assert cli(sqlite_url, "users", "disable", "ops").output == "disabled user ops\n"
    assert status("old password") == 401
    assert cli(sqlite_url, "users", "enable", "ops").output == "enabled user ops\n"
    assert status("old password") == 200
    changed = cli(sqlite_url, "users", "passwd", "ops", "--password-stdin", input="new password\n")
    assert changed.output == "password of ops changed\n"
    assert status("old password") == 401
    assert status("new password") == 200
    assert cli(sqlite_url, "users", "list").output == "ops\tactive\tall tenants\n"
