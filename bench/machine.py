"""What the results were measured on: the machine, its load, and the versions of everything."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.stores import MY_HOST, PG_HOST

Result = dict[str, Any]


def _output(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    # wrk --version exits with 1 after printing its version.
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else ""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    commit = _output(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    dirty = _output(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"])
    return f"{commit}{' (+ uncommitted changes)' if dirty else ''}" if commit else "no git"


def machine() -> Result:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    root = Path(__file__).resolve().parent.parent
    commit = _output(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "os": _os_name(),
        "kernel": platform.release(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "agentcdr": f"{_version('agentcdr')} ({commit or 'no git'})",
        "packages": {
            p: _version(p) for p in ("granian", "starlette", "orjson", "asyncpg", "asyncmy")
        },
        "sqlite": f"{sqlite3.sqlite_version} (Python), CLI {_output(['sqlite3', '--version'])[:6]}",
        "postgresql": _output(["psql", *PG_HOST, "-XtAc", "SHOW server_version"]),
        "mariadb": _output(["mariadb", *MY_HOST, "-N", "-e", "SELECT VERSION()"]),
        "wrk": _output(["wrk", "--version"]).split(" [")[0],
        "curl": " ".join(_output(["curl", "--version"]).split()[:2]),
        "datasette": _datasette(),
    }


def _datasette() -> str:
    from bench import datasette  # (which imports this module's neighbours)

    return datasette.installed_version() or ""
