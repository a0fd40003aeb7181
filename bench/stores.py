"""The stores under test: how to reach each one, load it, and export a range with its own CLI.

Every export selects the report's columns, rendered as the API renders them (answer_time as
``YYYY-MM-DD HH:MM:SS`` in UTC, call_duration as ``HH:MM:SS``), over the same range and in
the same order (newest first, ties by id), so that the CLI does the same work as the API
minus the HTTP server and the Python in between. Range bounds are our own integers.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sqlite3
import subprocess
import time
from abc import ABC, abstractmethod
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench.data import AGENTCDR, TZ, DataSet, Range

BENCH_USER: Final = "bench"
BENCH_PASSWORD: Final = "bench-password"
PG_HOST: Final = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
MY_HOST: Final = ["-h", "127.0.0.1", "-P", "3306", "-u", "root", "--protocol=TCP"]


@dataclass(frozen=True)
class Export:
    """A database CLI command writing a range's rows to standard output."""

    label: str
    argv: list[str]
    kind: str  # how to read its output: csv, tsv or json
    reference: bool  # the CSV/TSV export every ratio is taken against


@dataclass(frozen=True)
class LoadResult:
    rows: int
    seconds: float  # wall clock of the whole command
    cpu_seconds: float  # CPU time of the importing process (not of a database server)
    tool: str
    output: str
    load_average: str = ""  # of the machine just before

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


# The reference for an import: the database CLI's own bulk load of the same CSV into a table
# of its columns (all text), then the indexes of agentcdr's store that those columns can have
# (the unique call id; the answer time, alone and after the tenant, the agent and the
# profile), built once the rows are in, with the memory for sorting that agentcdr's import
# gives its own index builds. It is what the database's own tools do with the file, without
# agentcdr's validation, zone conversion, lower-cased agent key and stamps.
CLI_INDEXES: Final = (
    ("cli_key", ("call_id",), True),
    ("cli_answer", ("answer_time",), False),
    ("cli_portfolio", ("portfolio", "answer_time"), False),
    ("cli_agent", ("user", "answer_time"), False),
    ("cli_profile", ("profile", "answer_time"), False),
)


def names(columns: tuple[str, ...] | list[str], quote: str) -> str:
    """Column names in ``quote`` characters (``user`` is reserved on PostgreSQL)."""
    return ", ".join(f"{quote}{c}{quote}" for c in columns)


def cli_create(columns: list[str], quote: str, text_type: str) -> str:
    cells = ", ".join(f"{quote}{c}{quote} {text_type}" for c in columns)
    return f"CREATE TABLE calls ({cells})"


def cli_indexes(quote: str) -> list[str]:
    """``CLI_INDEXES`` as CREATE INDEX statements."""
    return [
        f"CREATE {'UNIQUE ' if unique else ''}INDEX {name} ON calls ({names(cols, quote)})"
        for name, cols, unique in CLI_INDEXES
    ]


def run_command(argv: list[str], **kwargs: object) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed: {(done.stderr or done.stdout).strip()}")
    return str(done.stdout)


def children_cpu() -> float:
    """CPU seconds of this process's finished (waited-for) children so far."""
    usage = os.times()
    return usage.children_user + usage.children_system


class Store(ABC):
    name: str
    title: str
    import_target: int | None  # rows/s the issue asks of agentcdr import

    def __init__(self, data: DataSet, data_dir: Path) -> None:
        self.data = data
        self.data_dir = data_dir
        suffix = "" if data.spec.name == "full" else f"_{data.spec.name}"
        shape = "" if data.spec.shape == "demo" else f"_{data.spec.shape}"
        self.database = f"agentcdr_bench{shape}{suffix}"

    # -- what a subclass says ------------------------------------------------------------
    @abstractmethod
    def unavailable(self) -> str | None:
        """Why this store cannot be benchmarked here, or None."""

    @property
    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    def reset(self, database: str = "") -> None:
        """An empty database (dropped and created again): the store's, or ``database``."""

    @abstractmethod
    def discard(self, database: str) -> None:
        """Drops ``database`` (a scratch one) if it is there."""

    @abstractmethod
    def count(self, database: str = "") -> int:
        """Calls in the store, or in ``database`` (-1 when it does not exist)."""

    @abstractmethod
    def exports(self, rng: Range) -> list[Export]: ...

    # -- shared ----------------------------------------------------------------------------
    @property
    def users_url(self) -> str | None:
        return None  # API users live in the call store

    def env(self) -> dict[str, str]:
        """The environment of every agentcdr command run against this store."""
        env = {**os.environ, "AGENTCDR_TZ": TZ, "AGENTCDR_VICIDIAL_TZ": TZ}
        if self.users_url:
            env["AGENTCDR_USERS_DB"] = self.users_url
        return env

    def loaded(self) -> bool:
        try:
            return self.count() == self.data.rows
        except RuntimeError:
            return False

    def load(self) -> LoadResult:
        """``agentcdr import`` of the data set's CSV into an empty store, timed."""
        self.reset()
        argv = [*AGENTCDR, "--db", self.url, "import", "--no-progress", str(self.data.csv)]
        result = self._timed("agentcdr import", argv, env=self.env())
        self.after_load()
        return result

    def _timed(self, tool: str, argv: list[str], **kwargs: object) -> LoadResult:
        """``argv`` run to its end: wall clock, its CPU, and the load average before."""
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        cpu = children_cpu()
        started = time.perf_counter()
        output = run_command(argv, **kwargs)
        seconds = time.perf_counter() - started
        return LoadResult(self.data.rows, seconds, children_cpu() - cpu, tool, output.strip(), load)

    def after_load(self) -> None:  # noqa: B027 - optional hook
        """Untimed upkeep a deployment would get anyway (statistics)."""

    def cli_load(self) -> LoadResult | None:
        """The import's reference (``CLI_INDEXES``), timed, in a scratch database dropped
        after; None where there is none. Raises ``RuntimeError`` if it fails or loads
        another number of rows."""
        tool, argv, script = self._cli_script(f"{self.database}_cli_load")
        if not tool:
            return None
        database = f"{self.database}_cli_load"
        self.reset(database)
        try:
            result = self._timed(tool, argv, input=script)
            count = self.count(database)
        finally:
            self.discard(database)
        if count != result.rows:
            raise RuntimeError(f"{tool} loaded {count:,} rows of {result.rows:,}")
        return result

    def _cli_script(self, database: str) -> tuple[str, list[str], str]:
        """(the CLI's name, its command, the script it reads on standard input) of the load
        into ``database``; an empty name where there is no reference."""
        return "", [], ""

    def _csv_columns(self) -> list[str]:
        with self.data.csv.open(encoding="utf-8") as handle:
            return handle.readline().strip().split(",")

    def add_user(self) -> None:
        run_command(
            [
                *AGENTCDR,
                "--db",
                self.url,
                "users",
                "add",
                BENCH_USER,
                "--all-tenants",
                "--if-missing",
            ],
            env={**self.env(), "AGENTCDR_PASSWORD": BENCH_PASSWORD},
        )


def _columns(answer_time: str, duration: str) -> str:
    """The default report columns over table ``calls``, in API order."""
    return (
        f"agent, {answer_time}, disposition, phone_number, loan_number, call_type, "
        f"{duration}, lead_id, term_reason, portfolio, campaign_name"
    )


def _where_order(rng: Range) -> str:
    return (
        f"FROM calls WHERE answer_ts >= {rng.start_ts:d} AND answer_ts < {rng.end_ts:d} "
        "ORDER BY answer_ts DESC, id DESC"
    )


class SQLiteStore(Store):
    name = "sqlite"
    title = "SQLite"
    import_target: int | None = 300_000

    @property
    def path(self) -> Path:
        return self._file(self.database)

    def _file(self, database: str) -> Path:
        return self.data_dir / f"{database}.db"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path.resolve()}"

    def unavailable(self) -> str | None:
        if shutil.which("sqlite3") is None:
            return "the sqlite3 command is not installed (apt-get install sqlite3)"
        return None

    def reset(self, database: str = "") -> None:
        self.discard(database or self.database)

    def discard(self, database: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self._file(database)}{suffix}").unlink(missing_ok=True)

    def count(self, database: str = "") -> int:
        path = self._file(database or self.database)
        if not path.exists():
            return -1
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            try:
                return int(db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
            except sqlite3.Error:
                return -1

    def _cli_script(self, database: str) -> tuple[str, list[str], str]:
        """``.import`` into a new file in WAL mode, as agentcdr's store is, with the cache
        and sorter threads of agentcdr's import."""
        from agentcdr.store.sql.sqlite import SORT_CACHE_KIB, SORT_THREADS, WRITE_CACHE_KIB

        csv = str(self.data.csv.resolve()).replace("\\", "\\\\").replace('"', '\\"')
        create = cli_create(self._csv_columns(), '"', "TEXT")
        script = "\n".join([
            "PRAGMA journal_mode = WAL;", f"PRAGMA cache_size = -{WRITE_CACHE_KIB};", f"{create};",
            f'.import --csv --skip 1 "{csv}" calls',
            f"PRAGMA cache_size = -{SORT_CACHE_KIB};", f"PRAGMA threads = {SORT_THREADS};",
            *(f"{index};" for index in cli_indexes('"')),
        ])  # fmt: skip
        return "sqlite3 .import", ["sqlite3", "-bail", str(self._file(database))], script

    def exports(self, rng: Range) -> list[Export]:
        sql = (
            "SELECT "
            + _columns(
                "datetime(answer_ts, 'unixepoch') AS answer_time",
                "printf('%02d:%02d:%02d', duration_sec / 3600, duration_sec / 60 % 60, "
                "duration_sec % 60) AS call_duration",
            ).replace("agent,", "agent AS user,", 1)
            + " "
            + _where_order(rng)
        )
        db = str(self.path)
        return [
            Export("sqlite3 -csv", ["sqlite3", "-readonly", "-csv", db, sql], "csv", True),
            Export("sqlite3 -json", ["sqlite3", "-readonly", "-json", db, sql], "json", False),
        ]


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


class PostgresStore(Store):
    name = "postgresql"
    title = "PostgreSQL"
    import_target: int | None = 150_000

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:5432/{self.database}"

    def _psql(self, database: str, sql: str) -> str:
        return run_command(["psql", *PG_HOST, "-X", "-q", "-tA", "-d", database, "-c", sql])

    def unavailable(self) -> str | None:
        if shutil.which("psql") is None:
            return "the psql command is not installed"
        if not has_module("asyncpg"):
            return "the asyncpg driver is not installed (pip install 'agentcdr[postgres]')"
        try:
            self._psql("postgres", "SELECT 1")
        except RuntimeError as exc:
            return f"no PostgreSQL server at 127.0.0.1:5432 (user postgres): {exc}"
        return None

    def reset(self, database: str = "") -> None:
        self.discard(database or self.database)
        self._psql("postgres", f"CREATE DATABASE {database or self.database}")

    def discard(self, database: str) -> None:
        self._psql("postgres", f"DROP DATABASE IF EXISTS {database}")

    def count(self, database: str = "") -> int:
        sql = "SELECT COUNT(*) FROM calls"
        return int(self._psql(database or self.database, sql).strip() or -1)

    def after_load(self) -> None:
        # What autovacuum does within a minute of a big load: statistics, visibility map.
        self._psql(self.database, "VACUUM ANALYZE calls")

    def _cli_script(self, database: str) -> tuple[str, list[str], str]:
        """psql's ``\\copy`` (COPY FROM STDIN, CSV), the indexes with the memory agentcdr's
        import gives its own."""
        from agentcdr.store.sql.postgres import BUILD_MEMORY

        # psql's quoted arguments take a doubled quote and backslash escapes.
        csv = str(self.data.csv.resolve()).replace("\\", "\\\\").replace("'", "''")
        create = cli_create(self._csv_columns(), '"', "text")
        script = "\n".join([
            f"{create};",
            f"\\copy calls FROM '{csv}' WITH (FORMAT csv, HEADER)",
            f"SET maintenance_work_mem = '{BUILD_MEMORY}';",
            *(f"{index};" for index in cli_indexes('"')),
        ])  # fmt: skip
        argv = ["psql", *PG_HOST, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database]
        return "psql \\copy", argv, script

    def exports(self, rng: Range) -> list[Export]:
        select = "SELECT " + _columns(
            "to_char(to_timestamp(answer_ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')",
            "lpad((duration_sec / 3600)::text, 2, '0') || ':' || "
            "lpad((duration_sec / 60 % 60)::text, 2, '0') || ':' || "
            "lpad((duration_sec % 60)::text, 2, '0')",
        )
        copy = f"COPY ({select} {_where_order(rng)}) TO STDOUT (FORMAT csv)"
        argv = ["psql", *PG_HOST, "-X", "-q", "-d", self.database, "-c", copy]
        return [Export("psql COPY csv", argv, "csv", True)]


def mariadb_export(database: str, sql: str) -> list[str]:
    """``mariadb --batch --quick``: tab-separated rows, streamed (not buffered whole)."""
    return [
        "mariadb", *MY_HOST, "--batch", "--quick", "--skip-column-names", "-D", database,
        "-e", sql,
    ]  # fmt: skip


class MariaDBStore(Store):
    name = "mariadb"
    title = "MariaDB"
    import_target: int | None = 150_000

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:3306/{self.database}"

    def _sql(self, sql: str, database: str = "") -> str:
        return run_command(
            ["mariadb", *MY_HOST, "--batch", "--skip-column-names", "-e", sql, database]
        )

    def unavailable(self) -> str | None:
        if shutil.which("mariadb") is None:
            return "the mariadb command is not installed"
        if not has_module("asyncmy"):
            return "the asyncmy driver is not installed (pip install 'agentcdr[mysql]')"
        try:
            self._sql("SELECT 1")
        except RuntimeError as exc:
            return f"no MariaDB server at 127.0.0.1:3306 (user root): {exc}"
        return None

    def reset(self, database: str = "") -> None:
        self.discard(database or self.database)
        self._sql(f"CREATE DATABASE {database or self.database}")

    def discard(self, database: str) -> None:
        self._sql(f"DROP DATABASE IF EXISTS {database}")

    def count(self, database: str = "") -> int:
        try:
            return int(self._sql("SELECT COUNT(*) FROM calls", database or self.database).strip())
        except RuntimeError as exc:
            if re.search(r"Unknown database|doesn't exist", str(exc)):
                return -1
            raise

    def _cli_script(self, database: str) -> tuple[str, list[str], str]:
        """``LOAD DATA LOCAL INFILE`` through the ``mariadb`` client (RFC 4180: quotes
        doubled, no backslash escapes), then one ALTER TABLE adding every index."""
        csv = str(self.data.csv.resolve()).replace("\\", "\\\\").replace("'", "''")
        adds = ", ".join(
            f"ADD {'UNIQUE ' if unique else ''}INDEX {name} ({names(cols, '`')})"
            for name, cols, unique in CLI_INDEXES
        )
        script = (
            f"{cli_create(self._csv_columns(), '`', 'VARCHAR(255)')} CHARACTER SET utf8mb4; "
            f"LOAD DATA LOCAL INFILE '{csv}' INTO TABLE calls CHARACTER SET utf8mb4 "
            "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
            f"IGNORE 1 LINES; ALTER TABLE calls {adds};"
        )
        argv = ["mariadb", *MY_HOST, "--local-infile=1", "-D", database]
        return "LOAD DATA LOCAL INFILE", argv, script

    def exports(self, rng: Range) -> list[Export]:
        sql = (
            "SET time_zone = '+00:00'; SELECT "
            + _columns(
                "FROM_UNIXTIME(answer_ts)",
                "SEC_TO_TIME(duration_sec)",
            ).replace("lead_id,", "IFNULL(lead_id, ''),", 1)
            + " "
            + _where_order(rng)
        )
        return [Export("mariadb --batch --quick", mariadb_export(self.database, sql), "tsv", True)]


STORES: Final[dict[str, type[Store]]] = {
    "sqlite": SQLiteStore,
    "postgresql": PostgresStore,
    "mariadb": MariaDBStore,
}
