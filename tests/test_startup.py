"""``agentcdr serve`` starts, or fails in one line before "serving on"; and a base install
(no optional driver importable) runs every base command and serves reports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import USERS
from tests.livserver import AGENTCDR, free_port, serve
from tests.seed import PASSWORD, seed

pytestmark = pytest.mark.socket

NO_EXTRAS = str(Path(__file__).parent / "no_extras")
API = "/goAPIv2/goReports/goAPI.php"


def agentcdr(
    *args: str,
    no_extras: bool = False,
    input: str | None = None,
    cwd: Path | None = None,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "AGENTCDR_TZ": "America/New_York", **env}
    if no_extras:
        environ["PYTHONPATH"] = os.pathsep.join([NO_EXTRAS, environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [*AGENTCDR, *args],
        capture_output=True,
        text=True,
        input=input,
        check=False,
        env=environ,
        cwd=cwd,
        timeout=120,
    )


def one_line_error(out: subprocess.CompletedProcess[str]) -> str:
    """The single ``agentcdr: error:`` line of a failed start (and nothing else)."""
    assert out.returncode == 1, out
    assert "serving on" not in out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("agentcdr: error: "), out.stderr
    return lines[0].removeprefix("agentcdr: error: ")


@pytest.fixture
def seeded(sqlite_url: str) -> str:
    seed(sqlite_url, users=USERS)
    return sqlite_url


def test_the_blocker_makes_a_base_install() -> None:
    for module in ("asyncmy", "asyncpg", "pyarrow", "bcrypt"):
        code = f"import {module}"
        env = {**os.environ, "PYTHONPATH": NO_EXTRAS}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, check=False
        )
        assert out.returncode == 1
        assert b"ModuleNotFoundError" in out.stderr


def test_a_base_install_runs_every_base_command_and_serves(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'base.db'}"
    run = {"no_extras": True, "cwd": tmp_path}
    demo = agentcdr(
        "--db", db, "demo", "--days", "2", "--agents", "12", "--calls-per-day", "80", **run
    )  # type: ignore[arg-type]
    assert demo.returncode == 0, demo.stderr
    added = agentcdr(
        "--db",
        db,
        "users",
        "add",
        "base",
        "--all-tenants",
        "--password-stdin",
        input=f"{PASSWORD}\n",
        **run,
    )  # type: ignore[arg-type]
    assert added.stdout == "added user base\n", added.stderr
    assert agentcdr("--db", db, "users", "list", **run).stdout == "base\tactive\tall tenants\n"  # type: ignore[arg-type]
    assert agentcdr("--db", db, "settings", **run).returncode == 0  # type: ignore[arg-type]
    csv = tmp_path / "more.csv"
    made = agentcdr(
        "demo",
        "--days",
        "1",
        "--agents",
        "5",
        "--calls-per-day",
        "20",
        "--end-day",
        "2025-05-13",
        "--csv",
        str(csv),
        **run,
    )  # type: ignore[arg-type]
    assert made.returncode == 0, made.stderr
    dry = agentcdr("--db", db, "import", str(csv), "--dry-run", **run)  # type: ignore[arg-type]
    assert "would insert 20" in dry.stdout, dry.stderr
    imported = agentcdr("import", str(csv), "--db", db, **run)  # type: ignore[arg-type]
    assert "20 rows: 20 inserted" in imported.stdout, imported.stderr
    assert agentcdr("--db", db, "imports", "list", **run).stdout.count("\n") == 3  # type: ignore[arg-type]
    env = {"PYTHONPATH": NO_EXTRAS}
    with serve(db, tmp_path, **env) as base:
        response = httpx.post(
            base + API,
            data={
                "goAction": "agent_cdr",
                "goUser": "base",
                "goPass": PASSWORD,
                "responsetype": "json",
                "fromDate": "2025-05-13",
                "toDate": "2025-05-13",
            },
        )
        assert response.status_code == 200
        assert len(response.json()["data"]["rows"]) == 20
        out = tmp_path / "fetched.csv"
        fetched = agentcdr(
            "fetch", "--url", base, "--goUser", "base", "--password-stdin", "--from", "2025-05-13",
            "--to", "2025-05-13", "-o", str(out), input=f"{PASSWORD}\n", **run,  # type: ignore[arg-type]
        )  # fmt: skip
        assert fetched.returncode == 0, fetched.stderr
        assert out.read_text().count("\n") == 21
        mirror = f"sqlite:///{tmp_path / 'mirror.db'}"
        synced = agentcdr(
            "sync", "--db", mirror, "--url", base, "--goUser", "base", "--password-stdin",
            "--from", "2025-05-13", "--to", "2025-05-13", "--tz", "America/New_York",
            input=f"{PASSWORD}\n", **run,  # type: ignore[arg-type]
        )  # fmt: skip
        assert "synced 20 rows" in synced.stderr, synced.stderr
        parquet = agentcdr(
            "fetch", "--url", base, "--goUser", "base", "--password-stdin", "--from", "2025-05-13",
            "--to", "2025-05-13", "-o", str(tmp_path / "x.parquet"), input=f"{PASSWORD}\n", **run,  # type: ignore[arg-type]
        )  # fmt: skip
        assert (
            one_line_error(parquet)
            == "Parquet output needs pyarrow: pip install 'agentcdr[parquet]'"
        )


@pytest.mark.parametrize(
    ("url", "extra", "driver"),
    [
        ("postgresql://agentcdr@127.0.0.1/agentcdr", "postgres", "asyncpg"),
        ("mysql://agentcdr@127.0.0.1/agentcdr", "mysql", "asyncmy"),
        ("mariadb://agentcdr@127.0.0.1/agentcdr", "mysql", "asyncmy"),
        ("vicidial+mysql://cron@127.0.0.1/asterisk", "vicidial", "asyncmy"),
    ],
)
def test_a_url_whose_driver_is_missing_names_the_extra(
    url: str, extra: str, driver: str, tmp_path: Path
) -> None:
    users = f"sqlite:///{tmp_path / 'users.db'}"
    out = agentcdr("--db", url, "serve", no_extras=True, AGENTCDR_USERS_DB=users)
    assert one_line_error(out) == (
        f"this database URL needs the {driver} driver: pip install 'agentcdr[{extra}]'"
    )


def test_a_port_in_use_is_refused(seeded: str, tmp_path: Path) -> None:
    with serve(seeded, tmp_path) as base:
        port = base.rsplit(":", 1)[1]
        # A second agentcdr on the same port (granian's SO_REUSEPORT would let it share).
        out = agentcdr("--db", seeded, "serve", "--port", port)
        assert one_line_error(out) == f"127.0.0.1:{port} is already in use"
        assert httpx.get(f"{base}/healthz").status_code == 200
    with socket.socket() as other:  # anything else listening
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = str(other.getsockname()[1])
        out = agentcdr("--db", seeded, "serve", "--port", port)
        assert one_line_error(out) == f"127.0.0.1:{port} is already in use"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--port", "0"], {}, "setting port (AGENTCDR_PORT): must be from 1 to 65535, got 0"),
        (["--port", "70000"], {}, "setting port (AGENTCDR_PORT): must be from 1 to 65535, got 70000"),
        (["--workers", "0"], {}, "setting workers (AGENTCDR_WORKERS): must be at least 1, got 0"),
        ([], {"AGENTCDR_CHUNK_ROWS": "-5"}, "setting chunk_rows (AGENTCDR_CHUNK_ROWS): must be at least 1, got -5"),
        ([], {"AGENTCDR_CREDENTIAL_CACHE_TTL": "-1"}, "setting credential_cache_ttl (AGENTCDR_CREDENTIAL_CACHE_TTL): must be at least 0, got -1"),
        ([], {"AGENTCDR_TZ": "Mars/Olympus"}, "setting tz (AGENTCDR_TZ): unknown time zone 'Mars/Olympus'"),
        ([], {"AGENTCDR_VICIDIAL_AUTH": "true"}, "vicidial_auth needs the VICIdial store (db = vicidial+mysql://…), not sqlite:///{db}"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_one_line(
    seeded: str, args: list[str], env: dict[str, str], message: str
) -> None:
    out = agentcdr("--db", seeded, "serve", "--port", str(free_port()), *args, **env)
    assert one_line_error(out) == message.format(db=seeded.removeprefix("sqlite:///"))


def test_a_missing_database_is_one_line(tmp_path: Path) -> None:
    missing_dir = tmp_path / "nowhere" / "calls.db"
    out = agentcdr("--db", f"sqlite:///{missing_dir}", "serve")
    assert one_line_error(out) == f"directory of the SQLite database does not exist: {missing_dir}"
    missing = tmp_path / "calls.db"
    out = agentcdr("--db", f"sqlite:///{missing}", "serve")
    assert one_line_error(out) == (
        f"the SQLite database {missing} does not exist (check --db; agentcdr demo, import or "
        "users add create one)"
    )
    assert not missing.exists()


def test_an_unreachable_server_database_is_one_line() -> None:
    url = "postgresql://agentcdr:secret@127.0.0.1:9/agentcdr"
    message = one_line_error(agentcdr("--db", url, "serve"))
    assert message.startswith(
        "cannot use the database postgresql://agentcdr:***@127.0.0.1:9/agentcdr: "
    )
    assert "secret" not in message


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        # Nothing listens: the server cannot be reached.
        ("vicidial+mysql://cron:secret@127.0.0.1:9/asterisk", "vicidial+mysql://cron:***@127.0.0.1:9/asterisk"),
        # The server answers, but refuses the login.
        ("vicidial+mysql://nosuchuser:secret@127.0.0.1:3306/asterisk", "vicidial+mysql://nosuchuser:***@127.0.0.1:3306/asterisk"),
    ],
)  # fmt: skip
def test_an_unusable_vicidial_database_is_one_line_naming_it(
    url: str, masked: str, tmp_path: Path
) -> None:
    users = f"sqlite:///{tmp_path / 'users.db'}"
    message = one_line_error(agentcdr("--db", url, "serve", AGENTCDR_USERS_DB=users))
    assert message.startswith(f"cannot use the VICIdial database {masked}: ")
    assert "try again later" not in message
    assert "secret" not in message


def test_vicidial_logins_that_need_bcrypt_fail_at_start_without_it(
    mysql_url: str, tmp_path: Path
) -> None:
    from tests.vicidial_schema import create_vicidial

    create_vicidial(mysql_url, pass_hash=("ABCDEFGHIJKLMNOP", 10))
    url = "vicidial+mysql://" + mysql_url.split("://", 1)[1]
    users = f"sqlite:///{tmp_path / 'users.db'}"
    env = {"AGENTCDR_USERS_DB": users, "AGENTCDR_VICIDIAL_AUTH": "true"}
    # The [mysql] extra without bcrypt: asyncmy imports, bcrypt does not.
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['bcrypt'] = None\n")
    out = agentcdr("--db", url, "serve", "--port", str(free_port()), PYTHONPATH=str(blocker), **env)
    assert one_line_error(out) == (
        "VICIdial pass_hash with pass_cost > 6 needs bcrypt: pip install 'agentcdr[vicidial]'"
    )


@pytest.mark.parametrize("where", ["missing-dir/access.log", "."])
def test_an_access_log_that_cannot_be_written_is_one_line(
    seeded: str, tmp_path: Path, where: str
) -> None:
    target = tmp_path / where
    out = agentcdr("--db", seeded, "serve", AGENTCDR_ACCESS_LOG=str(target))
    reason = "No such file or directory" if where != "." else "Is a directory"
    assert one_line_error(out) == (
        f"cannot write the access log {target}: {reason} (check access_log)"
    )


def test_a_host_name_is_resolved_for_the_server(seeded: str, tmp_path: Path) -> None:
    """granian takes IP addresses only; ``--host localhost`` is resolved before it starts."""
    with serve(seeded, tmp_path, "--host", "localhost") as base:
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}


def test_a_database_that_is_not_vicidial_is_one_line(mysql_url: str, tmp_path: Path) -> None:
    url = "vicidial+mysql://" + mysql_url.split("://", 1)[1]
    users = f"sqlite:///{tmp_path / 'users.db'}"
    out = agentcdr("--db", url, "serve", AGENTCDR_USERS_DB=users)
    assert one_line_error(out).startswith(
        "not a VICIdial database, or agentcdr may not read it: missing table(s) vicidial_log, "
    )
