"""What the CLI asks of and shows the person at the terminal: passwords and progress.

Passwords come from standard input (``--password-stdin``), else ``AGENTCDR_PASSWORD``, else a
prompt on stderr (stdout stays the command's output); never from an argument, which would end
up in shell history and in ``ps``.

Progress goes to stderr. On a terminal it is one line rewritten in place; elsewhere, when asked
for with ``--progress``, a plain line at each step (a tenth of a file, a finished span),
because carriage returns make a mess of log files. Without the option it shows on a terminal
only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from agentcdr.errors import ConfigError

MIN_NEW_PASSWORD = 8


def read_password(from_stdin: bool, *, new: bool = False) -> str:
    """The password from stdin, the environment or a prompt. A ``new`` one (of an API user)
    is typed twice at a prompt and must have ``MIN_NEW_PASSWORD`` characters."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = os.environ.get("AGENTCDR_PASSWORD") or click.prompt(
            "Password", hide_input=True, confirmation_prompt=new, err=True
        )
    if not password:
        raise ConfigError("no password given (--password-stdin, AGENTCDR_PASSWORD or a prompt)")
    if new and len(password) < MIN_NEW_PASSWORD:
        raise ConfigError(f"the password must have at least {MIN_NEW_PASSWORD} characters")
    return password


class Progress:
    """A progress line on stderr: ``show(text)`` as it changes, ``step(text)`` at a step."""

    def __init__(self, enabled: bool | None) -> None:
        self.terminal = sys.stderr.isatty()
        self.enabled = self.terminal if enabled is None else enabled
        self._width = 0  # of the line on screen, to blank what a shorter one leaves

    def show(self, text: str) -> None:
        """The current state: redrawn on a terminal, not logged elsewhere."""
        if self.enabled and self.terminal:
            click.echo("\r" + text.ljust(self._width), err=True, nl=False)
            self._width = len(text)

    def step(self, text: str) -> None:
        """A step done: redrawn on a terminal, a line of its own elsewhere."""
        if self.enabled and not self.terminal:
            click.echo(text, err=True)
        self.show(text)

    def end(self) -> None:
        if self._width:
            click.echo(err=True)
            self._width = 0


@contextmanager
def file_progress(path: Path, enabled: bool | None) -> Iterator[Callable[[int], None] | None]:
    """A callback for the bytes of ``path`` read so far (None when progress is off): the
    percentage, a step per tenth of the file."""
    line = Progress(enabled)
    if not line.enabled:
        yield None
        return
    size = max(path.stat().st_size, 1)
    shown = tenths = -1

    def advance(position: int) -> None:
        nonlocal shown, tenths
        percent = min(position * 100 // size, 100)
        if percent // 10 > tenths:
            tenths = percent // 10
            if tenths:  # "0% read" says nothing
                line.step(f"{path}: {tenths * 10}% read")
        elif percent > shown:
            line.show(f"{path}: {percent}% read")
        shown = percent

    try:
        yield advance
    finally:
        line.end()


class SpanProgress:
    """Spans done of all, rows and the current span (``mirror``'s progress protocol)."""

    def __init__(self, enabled: bool | None, spans: int, rows: int = 0) -> None:
        self.line = Progress(enabled)
        self.total = spans
        self.done = 0
        self.rows = rows
        self.span = ""

    def _text(self) -> str:
        return f"{self.done}/{self.total} spans  {self.rows:,} rows  {self.span}"

    def start(self, span: object) -> None:
        self.span = str(span)
        self.line.show(self._text())

    def add_rows(self, count: int) -> None:
        self.rows += count
        self.line.show(self._text())

    def finish_span(self) -> None:
        self.done += 1
        self.line.step(self._text())

    def end(self) -> None:
        self.line.end()
