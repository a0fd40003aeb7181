"""Docs that are checked: a setting, a command or an API parameter nobody documented fails."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import click
import pytest
from cogapp import Cog

import agentcdr
from agentcdr import errors
from agentcdr.cli import main
from agentcdr.cli.settings import markdown_table
from agentcdr.params import LIST_PARAMS, SCALAR_PARAMS

DOCS = Path(__file__).parent.parent / "docs"
GENERATED = ["cli.md", "configuration.md"]  # with cog blocks: `make docs` writes them


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


def cog_check(page: Path) -> int:
    """cog's exit status for ``page``: 0 when its generated blocks are what the code makes."""
    return Cog().main(["cog", "--check", "--diff", "--check-fail-msg", "run make docs", str(page)])


@pytest.mark.parametrize("page", GENERATED)
def test_generated_docs_are_what_the_code_makes(page: str) -> None:
    assert cog_check(DOCS / page) == 0, f"docs/{page} is out of date: run make docs"


def test_a_changed_option_shows_as_stale_docs(tmp_path: Path) -> None:
    page = shutil.copy(DOCS / "cli.md", tmp_path / "cli.md")
    text = page.read_text()
    assert "Ignore what an earlier failed run fetched." in text  # --restart's help, generated
    page.write_text(text.replace("Ignore what an earlier failed run fetched.", "Start over."))
    assert cog_check(page) == 5  # cog's "check failed"


def documented_public_names() -> list[str]:
    """The names of the table "Public names" of docs/client.md, first column."""
    text = (DOCS / "client.md").read_text()
    section = text.split("\n## Public names\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return [name for cell in rows for name in re.findall(r"`(\w+)`", cell)]


def names_the_docs_import() -> set[str]:
    """Every ``agentcdr.Name`` (a class or constant, not a module) and every ``from agentcdr
    import …`` of the docs and the README."""
    names: set[str] = set()
    for page in [*DOCS.glob("*.md"), DOCS.parent / "README.md"]:
        text = page.read_text()
        names |= set(re.findall(r"\bagentcdr\.([A-Z]\w*)\b(?!\.)", text))
        for imported in re.findall(r"^from agentcdr import (.+)$", text, re.MULTILINE):
            names |= {name.strip() for name in imported.split(",")}
    return names


def test_all_is_what_the_docs_document() -> None:
    documented = documented_public_names()
    assert len(documented) == len(set(documented)), "a name twice in the table"
    exported = set(agentcdr.__all__)
    assert {
        "documented, not in __all__": set(documented) - exported,
        "in __all__, not documented": exported - set(documented),
    } == {"documented, not in __all__": set(), "in __all__, not documented": set()}
    assert names_the_docs_import() <= set(documented)


def test_all_is_sorted_and_every_name_imports() -> None:
    assert agentcdr.__all__ == sorted(agentcdr.__all__)
    namespace: dict[str, object] = {}
    exec("from agentcdr import *", namespace)
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(agentcdr.__all__)
    assert all(namespace[name] is getattr(agentcdr, name) for name in agentcdr.__all__)


def test_the_client_package_exports_what_docs_client_md_names() -> None:
    """``agentcdr.client.__all__``: sorted, importable, every name in docs/client.md; and every
    name ``import agentcdr`` takes from the client, ``agentcdr.client`` offers too."""
    import agentcdr.client

    names = agentcdr.client.__all__
    assert names == sorted(names)
    assert all(hasattr(agentcdr.client, name) for name in names)
    text = (DOCS / "client.md").read_text()
    assert [n for n in names if not re.search(rf"`[^`]*\b{n}\b[^`]*`", text)] == []
    client_side = {
        n for n in agentcdr.__all__ if getattr(agentcdr, n) is getattr(agentcdr.client, n, None)
    }
    assert client_side >= {"Client", "AsyncClient", "ClientError", "ApiError"}
    assert client_side <= set(names)
