"""One password reader and one progress display for every command."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentcdr.cli import main
from agentcdr.cli.console import SpanProgress, file_progress


def cli(url: str, *args: str, input: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--db", url, *args], input=input, env=env or {})


def test_a_new_password_is_prompted_on_stderr_twice(sqlite_url: str) -> None:
    added = cli(sqlite_url, "users", "add", "cy", "--all-tenants", input="typed password\n" * 2)
    assert (added.exit_code, added.stdout) == (0, "added user cy\n")
    assert "Password: " in added.stderr
    assert "Repeat for confirmation: " in added.stderr
    assert "typed password" not in added.stderr  # hidden input


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "add", "cy", "--all-tenants"], "\n", "no password given (--password-stdin, AGENTCDR_PASSWORD or a prompt)"),
        (["users", "add", "cy", "--all-tenants"], "seven!!\n", "the password must have at least 8 characters"),
        (["fetch", "--url", "http://127.0.0.1:9", "--goUser", "u", "--from", "2025-05-01", "-o", "r.csv"], "\n", "no password given (--password-stdin, AGENTCDR_PASSWORD or a prompt)"),
    ],
)  # fmt: skip
def test_a_missing_or_short_password_is_one_line(
    sqlite_url: str, args: list[str], stdin: str, message: str
) -> None:
    result = cli(sqlite_url, *args, "--password-stdin", input=stdin)
    assert (result.exit_code, result.stderr) == (1, f"agentcdr: error: {message}\n")


def test_the_environment_gives_the_password_when_stdin_does_not(sqlite_url: str) -> None:
    env = {"AGENTCDR_PASSWORD": "from the env"}
    added = cli(sqlite_url, "users", "add", "cy", "--all-tenants", input="", env=env)
    assert (added.exit_code, added.stderr) == (0, "")  # no prompt


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_is_one_line_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    bar = SpanProgress(None, spans=2)
    bar.start("2025-05-13..2025-05-13")
    bar.add_rows(1500)
    bar.finish_span()
    bar.start("today")
    bar.end()
    assert screen.getvalue() == (
        "\r0/2 spans  0 rows  2025-05-13..2025-05-13"
        "\r0/2 spans  1,500 rows  2025-05-13..2025-05-13"
        "\r1/2 spans  1,500 rows  2025-05-13..2025-05-13"
        "\r1/2 spans  1,500 rows  today                 "  # blanks what the longer line left
        "\n"
    )


def test_elsewhere_progress_is_a_line_per_step_when_asked_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    bar = SpanProgress(True, spans=2)
    for span in ("a", "b"):
        bar.start(span)
        bar.add_rows(10)
        bar.finish_span()
    bar.end()
    assert log.getvalue() == "1/2 spans  10 rows  a\n2/2 spans  20 rows  b\n"
    path = tmp_path / "calls.csv"
    path.write_bytes(b"x" * 1000)
    with file_progress(path, True) as advance:
        assert advance is not None
        for position in (5, 150, 160, 990, 1000):
            advance(position)
    assert log.getvalue().endswith(f"b\n{path}: 10% read\n{path}: 90% read\n{path}: 100% read\n")
    with file_progress(path, None) as off:  # not a terminal, not asked for
        assert off is None
