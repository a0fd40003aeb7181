"""A real ``agentcdr serve`` process on a free local port, for tests over a socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

AGENTCDR = [sys.executable, "-m", "agentcdr"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(
    db_url: str, tmp_path: Path, *args: str, port: int | None = None, **env: str | None
) -> Iterator[str]:
    """Run the server (on ``port``, or a free one) until the block ends; yields its base URL.
    An ``env`` value None removes that variable."""
    port = port or free_port()
    log = tmp_path / "server.out"
    environ = {
        **os.environ,
        "AGENTCDR_TZ": "America/New_York",
        "AGENTCDR_ACCESS_LOG": str(tmp_path / "access.log"),
        **{k: v for k, v in env.items() if v is not None},
    }
    for name in [k for k, v in env.items() if v is None]:
        environ.pop(name, None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*AGENTCDR, "--db", db_url, "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environ,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
