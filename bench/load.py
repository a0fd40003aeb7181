"""Load from wrk, a separate process: requests/s and latency percentiles, bounded in time.

wrk sends the report as a POST form body from a small Lua script, and the script's ``done``
hook prints one machine-readable line. A response other than 2xx counts as an error.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "{body}"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %.1f %.1f %.1f\\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class LoadResult:
    connections: int
    seconds: float
    requests: int
    bad_status: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_s: float = 0.0  # CPU time the server's processes used during the run

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.requests if self.requests else 0.0


def missing() -> str | None:
    if shutil.which("wrk") is None:
        return "wrk is not installed (apt-get install -y wrk); load tests skipped"
    return None


def wrk(url: str, body: str, connections: int, seconds: int, script_dir: Path) -> LoadResult:
    """``wrk`` for ``seconds`` at ``connections`` open connections (2 threads at most)."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("the benchmark only loads servers on 127.0.0.1")
    script = script_dir / "post.lua"
    script.write_text(SCRIPT.format(body=body.replace("\\", "\\\\").replace('"', '\\"')))
    threads = min(connections, 2)
    argv = [
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
        "--timeout", "60s", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=seconds + 120)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    requests, micros, status, errors, p50, p99, top = line.split()[1:]
    return LoadResult(
        connections=connections,
        seconds=int(micros) / 1e6,
        requests=int(requests),
        bad_status=int(status),
        socket_errors=int(errors),
        p50_ms=float(p50) / 1000,
        p99_ms=float(p99) / 1000,
        max_ms=float(top) / 1000,
    )
