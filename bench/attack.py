"""The hardening campaign (issue 12): hostile requests against a real ``agentcdr serve`` on
each store, by class, and a table of what came back.

    python -m bench.attack [--stores sqlite,postgresql,mysql] [--python PATH] [--quick]

``--python PATH`` runs the server (and the seeding commands) with another interpreter, one
whose environment has another version of agentcdr installed (a venv of an older checkout),
so the same campaign measures both side by side. Classes:

- hostile: malformed, oversized and absurd parameters, bodies, methods, URIs and headers
- isolation: a one-tenant user asking for other tenants in every form and format
- credentials: concurrent guesses (throttle bypasses), names with blanks, logged passwords
- output: stored values that break formats (quotes, CR, U+2028, NUL-free control characters)
  in every format, parsed back
- faults: the database's connections killed while idle and mid-report (server stores)
- load: 3 x 100 MB bodies, 128 concurrent 7-day reports, slow readers holding reports

Per class: tries, 2xx, clear errors (a 4xx or a 503 with the error body of its code), 5xx
(500s, and 503s without a proper body), crashes (no answer, connection dropped before a
status) and leaks (another tenant's rows, a password in a log, a traceback or SQL in an
answer, output that does not parse, a throttle letting more guesses through than its
limit, connections left open). Memory is the worker processes' peak resident set (VmHWM,
read from /proc), measured by this script.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import csv
import io
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.server import _status, descendants

API = "/goAPIv2/goReports/goAPI.php"
PASSWORD = "attack campaign password"
CODES = {
    "40001": 400, "41004": 400, "41013": 413, "41014": 414, "41031": 431, "10000": 401,
    "10001": 403, "10005": 404, "10009": 405, "10429": 429, "10007": 503, "10500": 500,
}  # fmt: skip
POSTGRES_ADMIN = os.environ.get(
    "AGENTCDR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MYSQL_ADMIN = os.environ.get("AGENTCDR_TEST_MYSQL", "mysql://root@127.0.0.1:3306/")
END_DAY = "2025-05-13"
WEEK = {"fromDate": "2025-05-07", "toDate": END_DAY}
COLUMNS = ("tries", "2xx", "clear errors", "5xx", "crashes", "leaks")


class Tally:
    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}
        self.notes: list[str] = []
        self.metrics: dict[str, str] = {}

    def add(self, group: str, outcome: str, n: int = 1) -> None:
        counter = self.counts.setdefault(group, Counter())
        counter["tries"] += n if outcome != "leaks" else 0
        counter[outcome] += n

    def leak(self, group: str, what: str) -> None:
        self.counts.setdefault(group, Counter())["leaks"] += 1
        self.notes.append(f"{group}: {what}")

    def response(self, group: str, response: httpx.Response | BaseException) -> None:
        if isinstance(response, BaseException):
            self.add(group, "crashes")
            self.notes.append(f"{group}: no answer ({type(response).__name__}: {response!s:.80})")
            return
        status = response.status_code
        text = response.text[:20000] if status >= 400 or len(response.content) < 20000 else ""
        if "Traceback" in text or "SELECT " in text or PASSWORD in text:
            self.leak(group, f"{status} answer carries a traceback, SQL or a password")
        if status < 400:
            self.add(group, "2xx")
        elif status >= 500 and not (status == 503 and _error_body(response, "10007")):
            self.add(group, "5xx")
            self.notes.append(f"{group}: {status} {response.text[:120]!r}")
        elif _error_body(response):
            self.add(group, "clear errors")
        else:  # a 4xx without the API's body (the HTTP server's own)
            self.add(group, "clear errors" if status in (414, 431) else "5xx")
            self.notes.append(f"{group}: {status} without the error body")


def _error_body(response: httpx.Response, code: str | None = None) -> bool:
    try:
        if response.headers.get("content-type", "").startswith("application/xml"):
            root = ET.fromstring(response.content)
            body = {e.tag: e.text for e in root}
        else:
            body = response.json()
    except (ValueError, ET.ParseError):
        return False
    if not isinstance(body, dict) or body.get("result") != "error":
        return False
    found = body.get("code")
    return CODES.get(found) == response.status_code and (code is None or found == code)


# -- the server and its store -------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "AGENTCDR_TZ": "America/New_York", "AGENTCDR_PASSWORD": PASSWORD}


def _cli(url: str, python: str, *args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [python, "-m", "agentcdr", "--db", url, *args],
        check=True,
        env=_env(),
        cwd="/",  # not a checkout: ``-m`` would import the agentcdr of the working directory
        input=stdin,
        capture_output=True,
        text=True,
    )


@contextlib.contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    name = f"agentcdr_attack_{secrets.token_hex(4)}"
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'calls.db'}"
        return
    if kind == "postgresql":
        run = ["psql", POSTGRES_ADMIN, "-qc"]
        base = POSTGRES_ADMIN.rsplit("/", 1)[0]
    else:
        host = MYSQL_ADMIN.split("@", 1)[1].split("/", 1)[0].split(":")
        run = ["mysql", "-h", host[0], "-P", host[1] if len(host) > 1 else "3306", "-uroot", "-e"]
        base = MYSQL_ADMIN.rstrip("/")
    subprocess.run([*run, f"CREATE DATABASE {name}"], check=True, capture_output=True)
    try:
        yield f"{base}/{name}"
    finally:
        subprocess.run([*run, f"DROP DATABASE {name}"], check=False, capture_output=True)


NASTY = [
    'quote " and \\ back', "line\rreturn", "line\nfeed", "sep\u2028ara\u2029tor", "=HYPERLINK(1)",
    "<tag>&amp;</tag>", "tab\tcell", "bell\x07 and esc\x1b[31m", "émoji 📞", "]]>", "'; --",
]  # fmt: skip


def seed(url: str, python: str, tmp: Path, quick: bool) -> None:
    per_day = "1000" if quick else "3000"
    _cli(url, python, "demo", "--days", "7", "--agents", "100", "--calls-per-day", per_day,
         "--end-day", END_DAY)  # fmt: skip
    path = tmp / "nasty.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["user", "answer_time", "disposition", "phone_number", "loan_number",
                      "call_type", "call_duration", "lead_id", "term_reason", "portfolio",
                      "campaign_name", "call_id"])  # fmt: skip
        for i, text in enumerate(NASTY):
            out.writerow([f"nasty{i}", f"{END_DAY} 12:00:{i:02d}", text, "555" + str(i), text,
                          "MANUAL", "00:01:00", i, text, "GAL", "GALSERVERS", f"nasty-{i}"])  # fmt: skip
    _cli(url, python, "import", str(path), "--source", "attack")
    _cli(url, python, "users", "add", "admin", "--all-tenants")
    _cli(url, python, "users", "add", "galonly", "--tenant", "GAL")
    _cli(url, python, "users", "add", "galuser", "--tenant", "GAL")
    _cli(url, python, "users", "add", "off", "--all-tenants")
    _cli(url, python, "users", "disable", "off")


class Serve:
    def __init__(self, url: str, python: str, port: int, tmp: Path, workers: int = 1):
        self.url, self.python, self.port, self.tmp, self.workers = url, python, port, tmp, workers
        self.base = f"http://127.0.0.1:{port}"
        self.access_log = tmp / f"access-{port}.log"
        self.log = tmp / f"server-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Serve:
        env = {**_env(), "AGENTCDR_ACCESS_LOG": str(self.access_log)}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [self.python, "-m", "agentcdr", "--db", self.url, "serve",
                 "--port", str(self.port), "--workers", str(self.workers)],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd="/",
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                up = httpx.get(self.base + "/healthz", timeout=2).status_code == 200
                if up and len(self.workers_pids()) >= self.workers:
                    return self
            time.sleep(0.2)
        raise RuntimeError(self.log.read_text()[-2000:])

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def workers_pids(self) -> list[int]:
        assert self.process is not None
        pids = descendants(self.process.pid)
        return [p for p in pids if _status(p, "VmRSS") > 20_000] or pids

    def rss_mb(self, key: str = "VmRSS") -> int:
        return max((_status(p, key) for p in self.workers_pids()), default=0) // 1024

    def reset_peak(self) -> None:
        for pid in self.workers_pids():
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")


def form(user: str = "admin", password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    return {"goAction": "agent_cdr", "goUser": user, "goPass": password, "responsetype": "json",
            **extra}  # fmt: skip


async def send(
    client: httpx.AsyncClient, method: str, **kwargs: Any
) -> httpx.Response | BaseException:
    try:
        return await client.request(method, API, **kwargs)
    except httpx.HTTPError as exc:
        return exc


# -- the classes ---------------------------------------------------------------------------------


async def curl_post(serve: Serve, body: bytes) -> httpx.Response | BaseException:
    """A big body sent as curl sends it (it reads an early 413 while it still uploads, where
    httpx reports the closed connection instead)."""
    with tempfile.NamedTemporaryFile(dir=serve.tmp, delete=False) as f:
        f.write(body)
    try:
        process = await asyncio.create_subprocess_exec(
            "curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--data-binary", f"@{f.name}",
            "-H", "Content-Type: application/json", serve.base + API,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await process.communicate()
    finally:
        os.unlink(f.name)
    content, _, status = out.rpartition(b"\n")
    if not status.strip().isdigit() or int(status) == 0:
        return ConnectionError("curl got no answer")
    return httpx.Response(
        int(status), content=content, headers={"content-type": "application/json"}
    )


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def hostile_requests(rng: random.Random, fuzz: int) -> list[dict[str, Any]]:
    day = {"fromDate": END_DAY, "toDate": END_DAY}
    fixed: list[dict[str, Any]] = [
        {"data": form(limit="²", **day)}, {"data": form(limit="9" * 5000, **day)},
        {"data": form(tz="America", **day)}, {"data": form(tz="Etc", **day)},
        {"data": form(tz="Z" * 300, **day)}, {"data": form(toDate="9999-12-31")},
        {"data": form(fromDate="0001-01-01", tz="Asia/Tokyo")},
        {"data": form(fromDate="0001-01-01", toDate="0001-01-01", tz="Asia/Tokyo")},
        {"data": form(updatedSince="9999-12-31 23:59:59", tz="America/New_York", **day)},
        {"data": form(cursor=_cursor(2**63, 1, "desc"), **day)},
        {"data": form(cursor=_cursor(1, 2**63, "desc"), **day)},
        {"data": form(cursor=_cursor(1, "text id", "desc"), **day)},
        {"data": form(user="ad\x00min")}, {"data": form(user="x\x00y", **day)},
        {"data": form(disposition="\x00", **day)},
        {"data": form(user=",".join(f"u{i}" for i in range(33000)), **day)},
        {"content": "&".join(f"user[]={'%2C'.join(f'u{n}x{i}' for i in range(1000))}" for n in range(33)) + "&goAction=agent_cdr&goUser=admin&goPass=" + PASSWORD.replace(" ", "+") + "&responsetype=json", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {"content": "&".join(f"f{i}=1" for i in range(1500)), "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {"json": {**form(**day), "user": [["nested"]]}}, {"json": {**form(**day), "user": {"$ne": 1}}},
        {"content": "[" * 200_000, "headers": {"Content-Type": "application/json"}},
        {"content": "--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=B"}},
        {"content": "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--B--\r\n", "headers": {"Content-Type": "multipart/form-data"}},
        {"content": "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--B--\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=Z"}},
        {"content": "".join(f"--B\r\nContent-Disposition: form-data; name=\"p{i}\"\r\n\r\n1\r\n" for i in range(1500)) + "--B--\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=B"}},
        {"content": b"x" * 3_000_000, "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {"method": "TRACE"}, {"method": "CONNECT"}, {"method": "PROPFIND"}, {"method": "DELETE"},
        {"method": "GET", "params": {"a": "b" * 40_000}},
        {"method": "GET", "headers": {f"X-F{i}": "v" for i in range(80)}},
    ]  # fmt: skip
    names = ["user", "tenant", "profile", "disposition", "call_type", "campaign_name", "limit",
             "cursor", "order", "fields", "tz", "updatedSince", "fromDate", "toDate", "groupBy",
             "csvFormulas", "phone_number", "loan_number", "responsetype", "goAction"]  # fmt: skip
    alphabet = "aZ09 -_,:/[]{}\"'\\\x00\x1b\r\n\u2028\u00e9\u0663\u00b2\U0001d7d7"
    for _ in range(fuzz):
        values: dict[str, Any] = {}
        for _ in range(rng.randint(1, 5)):
            value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
            if rng.random() < 0.2:
                value = str(rng.randint(-(2**70), 2**70))
            values[rng.choice(names)] = value
        how = rng.choice(["data", "json", "params"])
        fixed.append({how: form(**values), "method": "GET" if how == "params" else "POST"})
    return fixed


async def hostile(serve: Serve, tally: Tally, fuzz: int) -> None:
    rng = random.Random(12)
    async with httpx.AsyncClient(base_url=serve.base, timeout=60) as client:
        for spec in hostile_requests(rng, fuzz):
            request = dict(spec)
            method = request.pop("method", "POST")
            if len(request.get("content", "")) > 2_000_000:
                tally.response("hostile", await curl_post(serve, request["content"]))
                continue
            tally.response("hostile", await send(client, method, **request))


async def isolation(serve: Serve, tally: Tally) -> None:
    day = {"fromDate": "2025-05-07", "toDate": END_DAY}
    asks: list[dict[str, Any]] = [
        {"tenant": "CSC"}, {"tenant[]": "csc"}, {"tenant": "GAL,CSC"}, {"tenant": "gal, csc"},
        {"tenant[0]": "GAL", "tenant[1]": "CSC"}, {"session_user": "admin"}, {"log_user": "admin"},
        {"campaign_name": "CSCCOLLECTIONS"}, {"profile": "COLLECTIONS"}, {},
    ]  # fmt: skip
    async with httpx.AsyncClient(base_url=serve.base, timeout=120) as client:
        for ask in asks:
            for fmt in ("json", "xml", "csv", "ndjson"):
                for action in ("agent_cdr", "agent_cdr_summary"):
                    extra = {"groupBy": "portfolio"} if action == "agent_cdr_summary" else {}
                    data = {**form("galonly", **day, **ask, **extra), "responsetype": fmt,
                            "goAction": action}  # fmt: skip
                    response = await send(client, "POST", data=data)
                    tally.response("isolation", response)
                    if isinstance(response, httpx.Response) and response.status_code == 200:
                        text = response.text
                        if any(t in text for t in ('"portfolio":"CSC"', "<portfolio>CSC<",
                                                   ",CSC,", '"portfolio": "CSC"')):  # fmt: skip
                            tally.leak(
                                "isolation", f"a CSC row for galonly ({ask}, {fmt}, {action})"
                            )


async def _burst(serve: Serve, forms: list[dict[str, Any]]) -> list[httpx.Response | BaseException]:
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=serve.base, timeout=300, limits=limits) as client:
        return await asyncio.gather(*(send(client, "POST", data=f) for f in forms))


async def credentials(serve: Serve, tally: Tally) -> None:
    day = {"fromDate": END_DAY, "toDate": END_DAY}
    # First, while no limit is near: names with blanks or in capitals, and the time of a
    # disabled user against a wrong password (10 failures from this address).
    async with httpx.AsyncClient(base_url=serve.base, timeout=60) as client:
        for name in ("admin ", "ADMIN", " admin", "admin\t"):
            response = await send(client, "POST", data=form(name, **day))
            tally.response("credentials", response)
            if isinstance(response, httpx.Response) and response.status_code == 200:
                tally.leak("credentials", f"{name!r} logged in as admin")
        timings = {}
        for name in ("off", "admin"):
            started = time.perf_counter()
            for i in range(5):
                tally.response(
                    "credentials", await send(client, "POST", data=form(name, f"x{i}", **day))
                )
            timings[name] = (time.perf_counter() - started) / 5
        tally.metrics["disabled user / wrong password time"] = (
            f"{timings['off'] / timings['admin']:.2f}"
        )
    guesses = await _burst(serve, [form("galuser", f"guess {i}", **day) for i in range(200)])
    for response in guesses:
        tally.response("credentials", response)
    verified = sum(isinstance(r, httpx.Response) and r.status_code == 401 for r in guesses)
    tally.metrics["guesses verified (limit 10)"] = str(verified)
    if verified > 10:
        tally.leak(
            "credentials", f"{verified} of 200 concurrent guesses for one user verified (limit 10)"
        )
    unknown = await _burst(serve, [form(f"nobody{i}", "guess", **day) for i in range(100)])
    for response in unknown:
        tally.response("credentials", response)
    verified = sum(isinstance(r, httpx.Response) and r.status_code == 401 for r in unknown)
    tally.metrics["unknown users verified (limit 50)"] = str(verified)
    if verified > 50:
        tally.leak("credentials", f"{verified} of 100 concurrent unknown users verified (limit 50)")
    if PASSWORD in serve.access_log.read_text(errors="replace") + serve.log.read_text(
        errors="replace"
    ):
        tally.leak("credentials", "a password in the logs")


async def output(serve: Serve, tally: Tally) -> None:
    day = {"fromDate": END_DAY, "toDate": END_DAY}
    async with httpx.AsyncClient(base_url=serve.base, timeout=120) as client:
        for fmt in ("json", "xml", "csv", "ndjson", "xlsx"):
            for extra in (
                {
                    "user": "nasty1,nasty2,nasty3,nasty4,nasty5,nasty6,nasty7,nasty8,nasty9,nasty10,nasty0"
                },
                {},
            ):
                response = await send(
                    client, "POST", data={**form(**day), **extra, "responsetype": fmt}
                )
                tally.response("output", response)
                if isinstance(response, httpx.Response) and response.status_code == 200:
                    problem = _unparsable(fmt, response.content)
                    if problem:
                        tally.leak("output", f"{fmt} does not parse: {problem}")


def _unparsable(fmt: str, content: bytes) -> str:
    try:
        if fmt == "json":
            rows = json.loads(content)["data"]["rows"]
            texts = {r["disposition"] for r in rows}
            missing = [t for t in NASTY if t not in texts]
            return f"values changed: {missing[:2]}" if missing and len(rows) <= 20 else ""
        if fmt == "xml":
            ET.fromstring(content)
        elif fmt == "csv":
            list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))
        elif fmt == "ndjson":
            for line in content.split(b"\n"):
                if line:
                    json.loads(line)
        elif fmt == "xlsx" and not content.startswith(b"PK"):
            return "not a zip archive"
    except (ValueError, ET.ParseError, KeyError, csv.Error) as exc:
        return str(exc)[:100]
    return ""


def _kill_connections(url: str) -> int:
    name = url.rsplit("/", 1)[1].split("?", maxsplit=1)[0]
    if url.startswith("postgres"):
        out = subprocess.run(
            ["psql", POSTGRES_ADMIN, "-tAc",
             f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"],
            capture_output=True, text=True, check=False)  # fmt: skip
        return int(out.stdout.strip() or 0)
    out = subprocess.run(
        ["mysql", "-h", "127.0.0.1", "-uroot", "-N", "-e",
         f"SELECT id FROM information_schema.processlist WHERE db = '{name}'"],
        capture_output=True, text=True, check=False)  # fmt: skip
    ids = out.stdout.split()
    for ident in ids:
        subprocess.run(
            ["mysql", "-h", "127.0.0.1", "-uroot", "-e", f"KILL {ident}"],
            capture_output=True,
            check=False,
        )
    return len(ids)


def _connections(url: str) -> int:
    name = url.rsplit("/", 1)[1].split("?", maxsplit=1)[0]
    if url.startswith("postgres"):
        sql = [
            "psql",
            POSTGRES_ADMIN,
            "-tAc",
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'",
        ]
    else:
        sql = ["mysql", "-h", "127.0.0.1", "-uroot", "-N", "-e",
               f"SELECT count(*) FROM information_schema.processlist WHERE db = '{name}'"]  # fmt: skip
    return int(subprocess.run(sql, capture_output=True, text=True, check=False).stdout.strip() or 0)


async def faults(serve: Serve, tally: Tally) -> None:
    if serve.url.startswith("sqlite"):
        tally.notes.append("faults: n/a on SQLite (no server to lose)")
        return
    week = {**form(**WEEK)}
    async with httpx.AsyncClient(base_url=serve.base, timeout=120) as client:
        for _ in range(5):
            _kill_connections(serve.url)
            for _ in range(4):
                tally.response("faults", await send(client, "POST", data=form(limit="5", **WEEK)))
            tally.response("faults", await client.get("/healthz"))
        for _ in range(5):  # killed mid-report: the answer is cut, never a 500 before it
            task = asyncio.ensure_future(send(client, "POST", data=week))
            await asyncio.sleep(0.15)
            _kill_connections(serve.url)
            response = await task
            if isinstance(response, httpx.RemoteProtocolError):
                tally.add("faults", "clear errors")  # truncated: never mistaken for complete
            else:
                tally.response("faults", response)
        await asyncio.sleep(1)
        for _ in range(5):
            tally.response("faults", await send(client, "POST", data=form(limit="5", **WEEK)))
    await asyncio.sleep(1)
    left = _connections(serve.url)
    tally.metrics["connections after faults"] = str(left)
    if left > 12:  # the pool (10), the health connection, one in flight
        tally.leak("faults", f"{left} connections left open")


def _slow_sockets(serve: Serve, count: int) -> list[socket.socket]:
    body = "&".join(f"{k}={v}" for k, v in form(**WEEK).items()).replace(" ", "+").encode()
    request = (f"POST {API} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body  # fmt: skip
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(30)
        try:
            sock.connect(("127.0.0.1", serve.port))
            sock.sendall(request)
        except OSError:
            pass
        sockets.append(sock)
    return sockets


async def _timed(
    client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        response = await client.request(method, path, **kwargs)
        return response.status_code, time.perf_counter() - started
    except httpx.HTTPError:
        return 0, time.perf_counter() - started


async def load(serve: Serve, tally: Tally, quick: bool) -> None:
    small = form("galonly", limit="10", fromDate=END_DAY, toDate=END_DAY)  # another user
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=serve.base, timeout=300, limits=limits) as client:
        # 1. three unauthenticated 100 MB bodies at once
        serve.reset_peak()
        body = b'{"goAction": "agent_cdr", "pad": "' + b"x" * 100_000_000 + b'"}'
        bodies = [curl_post(serve, body) for _ in range(3)]
        health = asyncio.ensure_future(_timed(client, "GET", "/healthz"))
        for response in await asyncio.gather(*bodies):
            tally.response("load", response)
        status, seconds = await health
        tally.metrics["3 x 100 MB bodies: worker peak MB"] = str(serve.rss_mb("VmHWM"))
        tally.metrics["3 x 100 MB bodies: /healthz s"] = f"{seconds:.2f} ({status})"
        # 2. 128 concurrent 7-day reports, and a small one among them
        await asyncio.sleep(1)
        serve.reset_peak()
        count = 32 if quick else 128
        reports = [send(client, "POST", data=form(**WEEK)) for _ in range(count)]

        async def small_later() -> tuple[int, float]:
            await asyncio.sleep(0.5)
            return await _timed(client, "POST", API, data=small)

        small_task = asyncio.ensure_future(small_later())
        answers = await asyncio.gather(*reports)
        for response in answers:
            tally.response("load", response)
        status, seconds = await small_task
        refused = sum(
            isinstance(r, httpx.Response) and r.status_code in (429, 503) for r in answers
        )
        tally.metrics[f"{count} x 7-day reports: worker peak MB"] = str(serve.rss_mb("VmHWM"))
        tally.metrics[f"{count} x 7-day reports: refused at once"] = str(refused)
        tally.metrics[f"{count} x 7-day reports: small report s"] = f"{seconds:.2f} ({status})"
        # 3. slow readers
        await asyncio.sleep(1)
        serve.reset_peak()
        readers = 200 if serve.url.startswith("sqlite") else 10
        rss_before = serve.rss_mb()
        sockets = await asyncio.to_thread(_slow_sockets, serve, readers)
        await asyncio.sleep(3)
        health_status, health_s = await _timed(client, "GET", "/healthz")
        small_status, small_s = await _timed(client, "POST", API, data=small)
        tally.metrics[f"{readers} slow readers: /healthz s"] = f"{health_s:.2f} ({health_status})"
        tally.metrics[f"{readers} slow readers: small report s"] = f"{small_s:.2f} ({small_status})"
        tally.metrics[f"{readers} slow readers: worker peak MB"] = str(serve.rss_mb("VmHWM"))
        for status in (health_status, small_status):
            tally.add(
                "load",
                "2xx"
                if status == 200
                else "clear errors"
                if status in (429, 503)
                else "crashes"
                if status == 0
                else "5xx",
            )
        # held past the send time limit (30 s by default), then let go
        await asyncio.sleep(35)
        status, _ = await _timed(client, "POST", API, data=small)
        tally.add(
            "load", "2xx" if status == 200 else "clear errors" if status in (429, 503) else "5xx"
        )
        for sock in sockets:
            sock.close()
        await asyncio.sleep(3)
        tally.metrics[f"{readers} slow readers: worker MB before / after"] = (
            f"{rss_before} / {serve.rss_mb()}"
        )
        if not serve.url.startswith("sqlite"):
            tally.metrics[f"{readers} slow readers: connections after"] = str(
                _connections(serve.url)
            )


def run_store(kind: str, python: str, port: int, quick: bool) -> Tally:
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="agentcdr-attack-") as tmp_dir:
        tmp = Path(tmp_dir)
        with database(kind, tmp) as url:
            seed(url, python, tmp, quick)
            with Serve(url, python, port, tmp) as serve:
                for name, step in (
                    ("hostile", hostile(serve, tally, 100 if quick else 400)),
                    ("isolation", isolation(serve, tally)),
                    ("output", output(serve, tally)),
                    ("faults", faults(serve, tally)),
                    ("load", load(serve, tally, quick)),
                ):
                    asyncio.run(step)
                    if not serve.alive():
                        tally.add(name, "crashes")
                        tally.notes.append(f"{name}: the server died")
                        break
            # credentials on two workers: the limits must hold for the host
            with Serve(url, python, port + 1, tmp, workers=2) as serve:
                asyncio.run(credentials(serve, tally))
    return tally


def print_table(results: dict[str, Tally]) -> None:
    groups = ("hostile", "isolation", "credentials", "output", "faults", "load")
    print("| store | class | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---:|" * len(COLUMNS))
    for store, tally in results.items():
        for group in groups:
            counts = tally.counts.get(group, Counter())
            print(f"| {store} | {group} | " + " | ".join(str(counts[c]) for c in COLUMNS) + " |")
    print()
    print("| store | measure | value |")
    print("|---|---|---|")
    for store, tally in results.items():
        for key, value in tally.metrics.items():
            print(f"| {store} | {key} | {value} |")
    for store, tally in results.items():
        for note in dict.fromkeys(tally.notes):
            print(f"- {store}: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgresql,mysql")
    parser.add_argument(
        "--python", default=sys.executable, help="the interpreter that runs the server"
    )
    parser.add_argument("--port", type=int, default=18310, help="first of two ports to use")
    parser.add_argument("--quick", action="store_true", help="smaller data and load")
    args = parser.parse_args()
    results = {}
    for kind in args.stores.split(","):
        started = time.monotonic()
        results[kind] = run_store(kind, args.python, args.port, args.quick)
        print(f"{kind}: {time.monotonic() - started:.0f} s", file=sys.stderr)
    print_table(results)


if __name__ == "__main__":
    main()
