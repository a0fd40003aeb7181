"""The command line forgives the usual mistakes: options after the command, a database file
that is not there, messages in the words the user typed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from agentcdr.cli import main
from agentcdr.client import Client, ClientError, InvalidArgument

HEADER = "user,answer_time,disposition,phone_number,loan_number,call_type,call_duration,lead_id,term_reason,portfolio,campaign_name"  # fmt: skip
ROW = "Ann,2025-05-13 10:00:00,RPC,5551234567,,MANUAL,00:01:00,,AGENT,GAL,GALSERVERS"


def cli(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, env={"AGENTCDR_PASSWORD": ""})


def stored_instants(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT answer_ts FROM calls")]


def test_db_and_tz_go_before_or_after_the_command(tmp_path: Path) -> None:
    csv = tmp_path / "calls.csv"
    csv.write_text(f"{HEADER}\n{ROW}\n")
    before, after = tmp_path / "before.db", tmp_path / "after.db"
    first = cli("--db", f"sqlite:///{before}", "--tz", "Asia/Tokyo", "import", str(csv))
    second = cli("import", str(csv), "--db", f"sqlite:///{after}", "--tz", "Asia/Tokyo")
    assert (first.exit_code, second.exit_code) == (0, 0), second.output
    assert stored_instants(before) == stored_instants(after) == [1747098000]
    # After the command wins over before it, as the later of two options does.
    third = cli(
        "--tz", "UTC", "import", str(csv), "--db", f"sqlite:///{after}", "--tz", "Asia/Tokyo"
    )
    assert "0 inserted, 0 updated, 1 unchanged" in third.output
    for command in (["users", "list"], ["settings"], ["imports", "list"]):
        assert "--db" in cli(*command, "--help").output, command


@pytest.mark.parametrize(
    "command",
    [
        ["users", "list"],
        ["users", "disable", "ann"],
        ["users", "passwd", "ann"],
        ["imports", "list"],
    ],
)
def test_a_command_that_only_reads_does_not_create_a_database(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "typo.db"
    result = cli("--db", f"sqlite:///{missing}", *command)
    assert result.exit_code == 1
    assert result.output == (
        f"agentcdr: error: the SQLite database {missing} does not exist (check --db; "
        "agentcdr demo, import or users add create one)\n"
    )
    assert not missing.exists()


def test_settings_warns_of_a_database_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = CliRunner().invoke(main, ["settings", "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 0
    assert f"db = sqlite:///{missing}\n" in result.stdout
    assert result.stderr == f"agentcdr: warning: the SQLite database {missing} does not exist\n"
    assert not missing.exists()


def test_fetch_names_the_options_and_the_url(tmp_path: Path) -> None:
    common = ["fetch", "--url", "http://127.0.0.1:9", "--goUser", "u", "--password-stdin"]
    out = str(tmp_path / "r.csv")
    bad_tz = cli(*common, "--from", "2025-05-01", "--to", "2025-05-02", "--tz", "Nowhere/Land", "-o", out, input="pw\n")  # fmt: skip
    assert bad_tz.exit_code == 2
    assert "Invalid value for '--tz': unknown time zone 'Nowhere/Land'" in bad_tz.output
    since = cli(*common, "--from", "2025-05-01", "--to", "2025-05-02", "--updated-since", "yesterday", "-o", out, input="pw\n")  # fmt: skip
    assert since.output.endswith(
        "agentcdr: error: --updated-since: 'yesterday' is not a time (YYYY-MM-DD HH:MM:SS)\n"
    )
    down = cli(*common, "--from", "2025-05-01", "--to", "2025-05-01", "--max-retries", "0", "-o", out, input="pw\n")  # fmt: skip
    assert down.exit_code == 1
    assert down.output.endswith("\n")
    last = down.output.splitlines()[-1]
    assert last.startswith(
        "agentcdr: error: cannot reach http://127.0.0.1:9/goAPIv2/goReports/goAPI.php: ConnectError"
    ), last


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ({"from_date": "2025-13-01"}, "from_date"),
        ({"from_date": "2025-05-01", "to_date": "May 2"}, "to_date"),
        ({"from_date": "2025-05-02", "to_date": "2025-05-01"}, "from_date"),
        ({"tz": "Nowhere/Land"}, "tz"),
        ({"updated_since": "2025-05-01"}, "updated_since"),
        ({"order": "sideways"}, "order"),
    ],
)
def test_the_client_raises_its_own_error_for_a_bad_argument(
    arguments: dict[str, str], argument: str
) -> None:
    with Client("http://127.0.0.1:9", "u", "p") as client, pytest.raises(InvalidArgument) as raised:
        list(client.agent_cdr(**arguments))  # type: ignore[arg-type]
    assert raised.value.argument == argument
    assert isinstance(raised.value, ClientError)
    assert isinstance(raised.value, ValueError)  # what callers caught before it existed
