"""The README's tour, run as written against what ``make demo`` makes.

Every ``sh`` block of README.md but the set-up one runs in order, in a folder holding the
demo database and ``.venv/bin/agentcdr``, against a real server (only the port differs); a
``text`` block right after an ``sh`` block is what it prints (``…`` stands for anything).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.livserver import serve

pytestmark = pytest.mark.socket

README = Path(__file__).parent.parent / "README.md"
MAKEFILE = Path(__file__).parent.parent / "Makefile"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks() -> list[tuple[str, str | None]]:
    """(sh block, the text block after it or None), in README order, set-up block left out."""
    found = BLOCK.findall(README.read_text())
    pairs = []
    for i, (kind, body) in enumerate(found):
        if kind != "sh" or "make demo" in body:
            continue
        after = found[i + 1] if i + 1 < len(found) else None
        pairs.append((body, after[1] if after is not None and after[0] == "text" else None))
    return pairs


def make_variable(name: str) -> str:
    match = re.search(rf"^{name}\s*\?=\s*(.+)$", MAKEFILE.read_text(), re.M)
    assert match, name
    return match.group(1).strip()


def demo_recipe() -> list[list[str]]:
    """The agentcdr commands of ``make demo`` before it serves, with the Makefile's values."""
    values = {n: make_variable(n) for n in ("DB", "DEMO_USER", "DEMO_PASSWORD")}
    recipe = MAKEFILE.read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    commands = []
    for line in recipe.splitlines():
        if "agentcdr" in line and " serve " not in line:
            command = line
            for name, value in values.items():
                command = command.replace(f"$({name})", value)
            commands.append(command.strip())
    return [c.replace("$(BIN)/agentcdr", ".venv/bin/agentcdr") for c in commands]


def matches(expected: str, output: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("…"))
    return re.search(pattern, output) is not None


def test_the_readme_tour_works_against_the_demo_data(tmp_path: Path) -> None:
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "agentcdr").symlink_to(Path(sys.executable).parent / "agentcdr")
    env = {**os.environ, "AGENTCDR_ACCESS_LOG": ""}
    env.pop("AGENTCDR_TZ", None)
    for command in demo_recipe():
        subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, check=True, capture_output=True
        )
    db = make_variable("DB")
    assert db == "sqlite:///demo.db"
    with serve(f"sqlite:///{tmp_path / 'demo.db'}", tmp_path, AGENTCDR_TZ=None) as base:
        outputs = []
        for block, expected in blocks():
            script = block.replace("http://127.0.0.1:8080", base)
            out = subprocess.run(
                ["bash", "-e", "-c", script],
                check=False,
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
            )
            assert out.returncode == 0, (block, out.stderr)
            outputs.append((block, out.stdout))
            if expected is not None:
                for line in expected.strip().splitlines():
                    assert matches(line, out.stdout), (line, out.stdout)
    checked = 0
    for block, output in outputs:
        if "user[]=Example.User1" in block:
            rows = orjson.loads(output)["data"]["rows"]
            assert rows
            assert {r["user"] for r in rows} == {"Example.User1"}
            checked += 1
        elif "responsetype=csv&profile[]=COLLECTIONS&tenant[]=GAL" in block:
            lines = output.splitlines()
            assert len(lines) > 50
            assert {line.split(",")[9] for line in lines[1:]} == {"GAL"}
            checked += 1
        elif "fromDate=2025-05-13" in block:
            rows = orjson.loads(output)["data"]["rows"]
            assert rows
            assert {(r["portfolio"], r["campaign_name"], r["answer_time"][:10]) for r in rows} == {
                ("CSC", "CSCCOLLECTIONS", "2025-05-13")
            }
            checked += 1
    assert checked == 3
