"""A real ``agentcdr serve`` process, requests timed to the last byte, and its memory.

Requests go through curl (a separate process, as any client would be) with the body written
to ``/dev/null``; every timing is wall clock around the client process, the same way the
database CLI exports are timed. Memory is the worker processes' peak resident set
(``VmHWM``), reset before each request through ``/proc/PID/clear_refs``; where that file
cannot be written, ``VmRSS`` is sampled every few milliseconds instead.

Every measured request follows an unmeasured sign-in (``sign_in``): the server verifies a
password with argon2id (64 MiB and its CPU time) once per credential and worker until its
credential cache forgets it (a minute by default), and without the sign-in that cost would
land inside whichever report came next (most often after a slow export). The bench's servers
keep a verified sign-in for a day, so that it cannot expire between the sign-in and the
request either (the cache is not renewed by use). The login's own peak is measured apart,
once per server, with the cache cold (``login_peak_kb``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final
from urllib.parse import urlencode

from bench.data import AGENTCDR, Range
from bench.stores import BENCH_PASSWORD, BENCH_USER, Export, Store, children_cpu

API_PATH = "/goAPIv2/goReports/goAPI.php"
# The sign-in's report: a day long before any data set.
_NO_CALLS: Final = Range("sign-in", "sign-in", "1990-01-01", "1990-01-01", 0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def form_body(rng: Range, fmt: str, group_by: str | None = None) -> str:
    """The report of ``rng`` in ``fmt``, or its summary grouped by ``group_by``."""
    fields = [
        ("goAction", "agent_cdr_summary" if group_by else "agent_cdr"),
        ("goUser", BENCH_USER),
        ("goPass", BENCH_PASSWORD),
        ("responsetype", fmt),
        ("fromDate", rng.from_date),
        ("toDate", rng.to_date),
    ]
    if rng.user:
        fields.append(("user", rng.user))
    if group_by:
        fields.append(("groupBy", group_by))
    return urlencode(fields)


def _status(pid: int, key: str) -> int:
    """A ``kB`` line of /proc/PID/status, in kB (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with contextlib.suppress(OSError):
                children = [int(c) for c in (task / "children").read_text().split()]
                found += children
                todo += children
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


_CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Timing:
    seconds: float
    status: int
    size: int
    peak_rss_kb: int = 0
    cpu_s: float = 0.0  # CPU time of the server (all its processes) or of the CLI process
    encoding: str = ""  # the response's Content-Encoding


class Server:
    """``agentcdr serve`` on ``port`` (or a free one) of 127.0.0.1 until the block ends."""

    def __init__(
        self, store: Store, out_dir: Path, workers: int = 1, port: int | None = None
    ) -> None:
        self.store = store
        self.workers = workers
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = self.base + API_PATH
        self.log = out_dir / f"server-{store.name}-w{workers}.log"
        self.access_log = out_dir / f"access-{store.name}-w{workers}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._workers: list[int] = []

    def __enter__(self) -> Server:
        env = {
            **self.store.env(),
            "AGENTCDR_ACCESS_LOG": str(self.access_log),
            # The load test's one user at 32 connections measures throughput, not the limits
            # on reports in flight (docs/api.md, "Limits"), which would refuse some.
            "AGENTCDR_USER_CONCURRENT_REPORTS": "64",
            "AGENTCDR_WORKER_CONCURRENT_REPORTS": "64",
            # A sign-in stays verified for the whole run (see the module docstring).
            "AGENTCDR_CREDENTIAL_CACHE_TTL": "86400",
        }
        argv = [*AGENTCDR, "--db", self.store.url, "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--workers", str(self.workers)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(self.base + "/healthz", timeout=2) as answer,
            ):
                if answer.status == 200 and len(self.worker_pids()) >= self.workers:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        workers = [(pid, _start_time(pid)) for pid in self.worker_pids()]
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # Workers end with their parent; make sure of it (these are our own processes).
        for pid, started in workers:
            if started and _start_time(pid) == started:  # the same process, not a reused id
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        self.process = None

    # -- memory ----------------------------------------------------------------------------
    def login_peak_kb(self) -> int:
        """The workers' peak RSS while the first request signs in (the cache cold: one
        argon2id verification); call it first thing."""
        with self.peak() as peak:
            self.sign_in()
        return peak[0]

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        pids = descendants(self.process.pid)
        # Worker processes run the app: far more memory than a helper process.
        return [p for p in pids if _status(p, "VmRSS") > 20_000] or pids

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server's processes (the database server's excluded)."""
        if self.process is None:
            return 0.0
        pids = [self.process.pid, *descendants(self.process.pid)]
        return sum(_cpu_seconds(pid) for pid in pids)

    def rss_kb(self) -> int:
        return max((_status(p, "VmRSS") for p in self.worker_pids()), default=0)

    @contextlib.contextmanager
    def peak(self) -> Iterator[list[int]]:
        """Yields a list that holds the workers' peak RSS (kB) once the block ends."""
        pids = self.worker_pids()
        result: list[int] = []
        reset = True
        for pid in pids:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM
            except OSError:
                reset = False
        sampled = [0]
        stop = threading.Event()
        sampler = None
        if not reset:

            def sample() -> None:
                while not stop.wait(0.005):
                    sampled[0] = max(sampled[0], *(_status(p, "VmRSS") for p in pids))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
        try:
            yield result
        finally:
            stop.set()
            if sampler is not None:
                sampler.join()
                result.append(sampled[0])
            else:
                result.append(max((_status(p, "VmHWM") for p in pids), default=0))

    # -- requests --------------------------------------------------------------------------
    def sign_in(self) -> None:
        """An empty report (no rows: a range with no calls), unmeasured: the credential is
        verified, or found verified, before a measured request."""
        body = form_body(_NO_CALLS, "json").encode()
        with urllib.request.urlopen(self.url, data=body, timeout=60) as answer:
            answer.read()

    def request(
        self,
        rng: Range,
        fmt: str,
        output: Path | None = None,
        close: bool = False,
        group_by: str | None = None,
    ) -> Timing:
        """One report (or its summary by ``group_by``), timed to its last byte; the body goes
        to ``output`` or nowhere. ``fmt`` ``FORMAT+CODING`` asks for it compressed (curl keeps
        it compressed: the size is the bytes on the wire; ``encoding`` is what the server
        sent)."""
        fmt, _, coding = fmt.partition("+")
        argv = [
            "curl", "-sS", "--max-time", "900", "-o", str(output or "/dev/null"),
            "-w", "%{http_code} %{size_download} %header{content-encoding}",
            "-H", "Content-Type: application/x-www-form-urlencoded",
            "-H", f"Accept-Encoding: {coding or 'identity'}",
            "--data-binary", form_body(rng, fmt, group_by), self.url,
        ]  # fmt: skip
        if close:
            argv[1:1] = ["-H", "Connection: close"]
        self.sign_in()
        with self.peak() as peak:
            cpu = self.cpu_seconds()
            started = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            cpu = self.cpu_seconds() - cpu
        if done.returncode != 0:
            raise RuntimeError(f"curl failed ({done.returncode}): {done.stderr.strip()}")
        status, size, *encoding = done.stdout.split()
        if status != "200":
            raise RuntimeError(f"the server answered {status} to a {fmt} report")
        return Timing(seconds, int(status), int(size), peak[0], cpu, " ".join(encoding))


def run_export(export: Export, output: Path | None = None) -> Timing:
    """The database CLI's export, timed the same way; output to ``output`` or nowhere."""
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(output.open("wb")) if output else subprocess.DEVNULL
        cpu = children_cpu()
        started = time.perf_counter()
        done = subprocess.run(export.argv, stdout=out, stderr=subprocess.PIPE, check=False)
        seconds = time.perf_counter() - started
        cpu = children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"{export.label} failed: {done.stderr.decode(errors='replace')}")
    size = output.stat().st_size if output else 0
    return Timing(seconds, 0, size, 0, cpu)
