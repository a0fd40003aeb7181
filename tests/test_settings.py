"""The settings are one declaration: the typed ``Settings``, the options of settings and the
docs table are made from it, and a bad value is one line naming the setting, from an option
as from the environment."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from agentcdr.cli import main
from agentcdr.settings import BY_NAME, SETTINGS, Setting, Settings
from tests.test_docs import commands


def test_the_table_is_the_attributes_of_settings_in_order() -> None:
    declared = [name for name, value in vars(Settings).items() if isinstance(value, Setting)]
    assert [s.name for s in SETTINGS] == declared
    assert declared[:3] == ["db", "users_db", "host"]
    assert Settings.port is BY_NAME["port"]
    settings = Settings.load({"port": "8081", "http_200": "yes"}, environ={"AGENTCDR_WORKERS": "3"})
    assert (settings.port, settings.workers, settings.http_200) == (8081, 3, True)
    assert settings == Settings.load({"port": 8081, "http_200": True, "workers": 3}, environ={})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
    assert settings.environ()["AGENTCDR_PORT"] == "8081"


def test_secrets_are_masked_when_shown() -> None:
    settings = Settings.load({"db": "postgresql://cdr:s3cret@db/cdr"}, environ={})
    assert settings.public()["db"] == "postgresql://cdr:***@db/cdr"
    assert "s3cret" not in repr(settings)
    assert settings.db == "postgresql://cdr:s3cret@db/cdr"


# fetch and sync take --tz for the remote's tz extension (the zone of the dates they ask for),
# not the report zone of the local settings.
REMOTE_TZ = {"agentcdr fetch", "agentcdr sync"}


def options_of_settings() -> list[tuple[str, click.Option]]:
    found = []
    for path in ["agentcdr", *commands(main)]:
        command: click.Command = main
        for part in path.split()[1:]:
            assert isinstance(command, click.Group)
            command = command.commands[part]
        for param in command.params:
            remote_tz = path in REMOTE_TZ and param.name == "tz"
            if isinstance(param, click.Option) and param.name in BY_NAME and not remote_tz:
                found.append((path, param))
    return found


def test_every_option_of_a_setting_is_made_from_it() -> None:
    options = options_of_settings()
    assert {param.name for _, param in options} == {
        "db", "tz", "host", "port", "workers", "access_log", "access_log_format"
    }  # fmt: skip
    for path, param in options:
        setting = BY_NAME[str(param.name)]
        assert param.opts == ["--" + setting.name.replace("_", "-")], path
        assert param.help == (
            f"{setting.help} [env {setting.env}; default: {setting.shown_default()}]"
        ), path


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["serve", "--port", "http"], {}, "setting port (AGENTCDR_PORT): expected a whole number, got 'http'"),
        (["serve", "--workers", "0"], {"AGENTCDR_WORKERS": "2"}, "setting workers (AGENTCDR_WORKERS): must be at least 1, got 0"),
        (["serve"], {"AGENTCDR_WORKERS": "zero"}, "setting workers (AGENTCDR_WORKERS): expected a whole number, got 'zero'"),
        (["--tz", "Mars/Olympus", "users", "list"], {}, "setting tz (AGENTCDR_TZ): unknown time zone 'Mars/Olympus'"),
        (["users", "list", "--tz", "Mars/Olympus"], {}, "setting tz (AGENTCDR_TZ): unknown time zone 'Mars/Olympus'"),
    ],
)  # fmt: skip
def test_a_bad_option_is_the_one_line_of_its_setting(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    db = f"sqlite:///{tmp_path / 'none.db'}"
    result = CliRunner().invoke(main, [*args, "--db", db], env=env)
    assert (result.exit_code, result.output) == (1, f"agentcdr: error: {message}\n")
    assert not (tmp_path / "none.db").exists()  # stopped before the store was opened
