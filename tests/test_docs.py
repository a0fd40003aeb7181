"""Docs that are checked: a setting, a command or an API parameter nobody documented fails."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from agentcdr import errors
from agentcdr.cli import main
from agentcdr.cli.settings import markdown_table
from agentcdr.params import LIST_PARAMS, SCALAR_PARAMS

DOCS = Path(__file__).parent.parent / "docs"


def commands(group: click.Group, prefix: str = "agentcdr") -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += commands(command, path)
        else:
            found.append(path)
    return found


def test_every_setting_is_documented_as_the_code_declares_it() -> None:
    assert markdown_table() in (DOCS / "configuration.md").read_text()


@pytest.mark.parametrize("command", commands(main))
def test_every_command_is_documented(command: str) -> None:
    assert command in (DOCS / "cli.md").read_text(), f"{command} is missing from docs/cli.md"


def test_every_option_of_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    missing = []
    for path in commands(main):
        command: click.Command = main
        for part in path.split()[1:]:
            assert isinstance(command, click.Group)
            command = command.commands[part]
        for param in command.params:
            documented = any(opt in text for opt in getattr(param, "opts", ()))
            if isinstance(param, click.Option) and param.name != "help" and not documented:
                missing.append(f"{path} {param.opts[0]}")
    assert missing == []


def test_every_api_parameter_and_error_code_is_documented() -> None:
    text = (DOCS / "api.md").read_text()
    for name in sorted(LIST_PARAMS | SCALAR_PARAMS):
        assert f"`{name}`" in text, name
    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ApiError)
    }
    for code in sorted(codes):
        assert re.search(rf"\| `{code}` \|", text), code
