"""Where an import reads its file: in a thread beside the writer, or in a process of its own.

Reading and validating a row costs about as much CPU as the database's work of storing it,
and both sides hold the GIL for most of theirs, so in one process they take turns on one
core. A large file is therefore read by a child process (``python -m agentcdr.ingest``: a
fresh interpreter, so neither the event loop's threads nor the caller's main module get in
the way, as they would with ``multiprocessing``), which sends batches of ready rows
(``WriteRow`` tuples, pickled) through its standard output; the importing process only
unpickles them and writes, and reading batch N+1 overlaps writing batch N. The pipe holds
about one batch, so memory does not grow with the file. A small file is read in a thread,
as starting a process costs a fraction of a second. Both run the same reader, so rows,
warnings and errors are the same either way.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import struct
import subprocess
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager, closing, suppress
from dataclasses import dataclass
from typing import Any, BinaryIO, Final, Protocol
from zoneinfo import ZoneInfo

import orjson

from agentcdr.errors import AgentCDRError, DataError
from agentcdr.ingest.apijson import api_json_batches
from agentcdr.ingest.fields import Builders
from agentcdr.ingest.readers import csv_batches, ndjson_batches
from agentcdr.store.base import WriteRow

# Files at least this large are read in a child process.
PROCESS_BYTES: Final = 8 << 20

Batches = Generator[list[WriteRow], None, None]


class _Reader(Protocol):
    def __call__(
        self,
        raw: BinaryIO,
        name: str,
        builder_for: Builders,
        batch_rows: int,
        warn: Callable[[str], None],
    ) -> Batches: ...


READERS: Final[dict[str, _Reader]] = {
    "csv": csv_batches,
    "ndjson": ndjson_batches,
    "json": api_json_batches,
}


@dataclass(frozen=True)
class ReadSpec:
    """What reading a file takes, but the file (sent to a child process as JSON)."""

    name: str  # as errors and warnings name the file
    kind: str  # a key of READERS
    tz: ZoneInfo
    source: str
    batch_rows: int

    def to_json(self) -> bytes:
        return orjson.dumps({**vars(self), "tz": self.tz.key})

    @classmethod
    def from_json(cls, data: bytes) -> ReadSpec:
        values = orjson.loads(data)
        return cls(**{**values, "tz": ZoneInfo(values["tz"])})


def batches(spec: ReadSpec, raw: BinaryIO, warn: Callable[[str], None]) -> Batches:
    builders = Builders(spec.tz, spec.source)
    return READERS[spec.kind](raw, spec.name, builders, spec.batch_rows, warn)


class BatchSource(Protocol):
    async def next(self) -> tuple[list[WriteRow], int] | None:
        """The next batch and the bytes of the file read so far; None at the end. Raises
        the file's ``DataError``."""
        ...


class _ThreadSource:
    def __init__(self, spec: ReadSpec, raw: BinaryIO, warn: Callable[[str], None]) -> None:
        self._raw = raw
        self._batches = batches(spec, raw, warn)

    async def next(self) -> tuple[list[WriteRow], int] | None:
        rows = await asyncio.to_thread(next, self._batches, None)
        return None if rows is None else (rows, self._raw.tell())


_HEADER: Final = struct.Struct("!Q")  # the length of each pickled message


def _send(out: BinaryIO, message: tuple[Any, ...]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def child_main(fd: int) -> None:
    """The child process: reads the file open at ``fd`` as the ``ReadSpec`` on standard
    input says, and sends every batch, warning and the end (or the file's error) on
    standard output."""
    spec = ReadSpec.from_json(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    try:
        with os.fdopen(fd, "rb") as raw:
            try:
                for rows in batches(spec, raw, lambda text: _send(out, ("warn", text))):
                    _send(out, ("rows", rows, raw.tell()))
            except DataError as exc:
                _send(out, ("data_error", exc.file, exc.line, exc.field, exc.detail))
            else:
                _send(out, ("end",))
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # the importer is gone or stopping: nobody to tell


class _ProcessSource:
    def __init__(self, spec: ReadSpec, raw: BinaryIO, warn: Callable[[str], None]) -> None:
        self._name = spec.name
        self._warn = warn
        # The child reads the importer's own open file (not a path, which could name another
        # file by then), through a duplicate of its descriptor.
        child_fd = os.dup(raw.fileno())
        try:
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, our module
                [sys.executable, "-m", "agentcdr.ingest", str(child_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                pass_fds=(child_fd,),
            )
        finally:
            os.close(child_fd)
        stdin, self._out = self._process.stdin, self._process.stdout
        assert stdin is not None
        with stdin:
            stdin.write(spec.to_json())

    def _receive(self) -> Any:
        assert self._out is not None
        header = self._out.read(_HEADER.size)
        if len(header) == _HEADER.size:
            (length,) = _HEADER.unpack(header)
            data = self._out.read(length)
            if len(data) == length:
                return pickle.loads(data)  # noqa: S301 - our own child's output
        return ("failed", self._process.wait())

    async def next(self) -> tuple[list[WriteRow], int] | None:
        while True:
            message = await asyncio.to_thread(self._receive)
            kind = message[0]
            if kind == "rows":
                return message[1], message[2]
            if kind == "warn":
                self._warn(message[1])
            elif kind == "end":
                return None
            elif kind == "data_error":
                raise DataError(*message[1:])
            else:
                raise AgentCDRError(
                    f"{self._name}: the process reading the file stopped "
                    f"(exit status {message[1]}; its error, if any, is above)"
                )

    def close(self) -> None:
        # Stopping early (an error, a failed write): the child may be blocked on a full pipe.
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if self._out is not None:
            self._out.close()


@asynccontextmanager
async def batch_source(
    spec: ReadSpec, raw: BinaryIO, size: int, warn: Callable[[str], None], process: bool | None
) -> AsyncIterator[BatchSource]:
    """The file's batches, read in a child process when ``process`` (by default: when the
    file has at least ``PROCESS_BYTES``), else in a thread reading ``raw``."""
    if process is None:
        # (A zone read from a file has no name to send to the child.)
        process = size >= PROCESS_BYTES and spec.tz.key is not None
    if process:
        source = _ProcessSource(spec, raw, warn)
        try:
            yield source
        finally:
            source.close()
    else:
        thread_source = _ThreadSource(spec, raw, warn)
        with closing(thread_source._batches):
            yield thread_source


async def pipelined(source: BatchSource) -> AsyncGenerator[tuple[list[WriteRow], int], None]:
    """The source's batches, each next one read while the caller writes the last."""
    pending = asyncio.ensure_future(source.next())
    try:
        while (item := await pending) is not None:
            pending = asyncio.ensure_future(source.next())
            yield item
    finally:
        # A read in flight runs on in its thread: wait for it (its outcome no longer
        # matters) before the caller closes the source under it.
        if not pending.done():
            await asyncio.wait([pending])
        with suppress(BaseException):
            pending.result()
