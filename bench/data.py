"""The benchmark's data sets and the report ranges chosen in each.

Two shapes of the same seeded calls: ``demo`` (``agentcdr demo --csv``) and ``wide``
(``bench.shapes``: 5,000 agents, long non-ASCII dispositions, other campaigns and
durations). Each is generated once per size into the data directory and reused. Its facts
(rows per day, calls per agent) are read from the CSV once and cached beside it, so every run
picks the same one-day range and the same agent for the small report.
"""

from __future__ import annotations

import calendar
import csv
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Final

from bench import shapes

# Report time zone of the whole benchmark. UTC lets every database CLI render answer_time
# without time-zone tables (MariaDB rarely has them loaded); agentcdr does the same per-row
# work in any zone (a cached offset, see agentcdr/clock.py).
TZ: Final = "UTC"
AGENTCDR: Final = [sys.executable, "-m", "agentcdr"]


@dataclass(frozen=True)
class DataSpec:
    """What ``agentcdr demo --csv`` generates: ``days * calls_per_day`` calls."""

    name: str
    days: int
    agents: int
    calls_per_day: int
    end_day: str = "2025-05-31"
    seed: int = 42
    shape: str = "demo"  # a key of SHAPES

    @property
    def rows(self) -> int:
        return self.days * self.calls_per_day

    @property
    def first_day(self) -> str:
        return (date.fromisoformat(self.end_day) - timedelta(days=self.days - 1)).isoformat()

    def csv_path(self, data_dir: Path) -> Path:
        shape = "" if self.shape == "demo" else f"{self.shape}-"
        return data_dir / (
            f"calls-{shape}{self.days}d-{self.agents}a-{self.calls_per_day}pd-s{self.seed}-"
            f"{self.end_day}.csv"
        )


SIZES: Final = {
    # The data set: 2,000,010 calls over 30 days (66,667 a day on average), 500 agents.
    "full": DataSpec("full", days=30, agents=500, calls_per_day=66_667),
    "quick": DataSpec("quick", days=30, agents=500, calls_per_day=667),
    "smoke": DataSpec("smoke", days=3, agents=20, calls_per_day=100),
}
# The data sets: what each changes in a size's spec, and what the results call it.
SHAPES: Final = {
    "demo": ("A: demo", {}),
    "wide": ("B: wide", {"agents_factor": 10}),
}


def spec_of(size: str, shape: str) -> DataSpec:
    """The data set of ``shape`` in ``size``: the wide one has ten times the agents."""
    base = SIZES[size]
    factor = int(SHAPES[shape][1].get("agents_factor", 1))
    return replace(base, agents=base.agents * factor, shape=shape)


@dataclass(frozen=True)
class Range:
    """A report range: whole days ``from_date``..``to_date`` (inclusive) in ``TZ``."""

    key: str  # "1d", "all", "small"
    label: str
    from_date: str
    to_date: str
    rows: int
    user: str | None = None  # the small report: one agent

    @property
    def start_ts(self) -> int:
        return calendar.timegm(date.fromisoformat(self.from_date).timetuple())

    @property
    def end_ts(self) -> int:
        last = date.fromisoformat(self.to_date) + timedelta(days=1)
        return calendar.timegm(last.timetuple())


@dataclass(frozen=True)
class DataSet:
    spec: DataSpec
    csv: Path
    rows: int
    day_rows: dict[str, int]
    one_day: Range
    all_days: Range
    small: Range


def ensure_csv(spec: DataSpec, data_dir: Path) -> Path:
    """The data set's CSV, generated with ``agentcdr demo --csv`` unless already there."""
    path = spec.csv_path(data_dir)
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.csv")
    print(f"bench: generating {spec.rows:,} calls into {path} (once)", flush=True)
    if spec.shape == "wide":
        with partial.open("w", encoding="utf-8", newline="") as out:
            shapes.write_csv(
                out, spec.days, spec.agents, spec.calls_per_day, spec.seed,
                date.fromisoformat(spec.end_day),
            )  # fmt: skip
        os.replace(partial, path)
        return path
    subprocess.run(
        [
            *AGENTCDR,
            "--tz",
            TZ,
            "demo",
            "--csv",
            str(partial),
            "--days",
            str(spec.days),
            "--agents",
            str(spec.agents),
            "--calls-per-day",
            str(spec.calls_per_day),
            "--seed",
            str(spec.seed),
            "--end-day",
            spec.end_day,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    os.replace(partial, path)
    return path


def _facts(path: Path) -> dict[str, object]:
    """Rows per day and per (day, agent), read from the CSV once and cached beside it."""
    cache = path.with_suffix(".facts.json")
    if cache.exists() and cache.stat().st_mtime >= path.stat().st_mtime:
        facts: dict[str, object] = json.loads(cache.read_text())
        return facts
    days: Counter[str] = Counter()
    agents: dict[str, Counter[str]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        user_at, time_at = header.index("user"), header.index("answer_time")
        for row in reader:
            day = row[time_at][:10]
            days[day] += 1
            agents.setdefault(day, Counter())[row[user_at]] += 1
    facts = {
        "rows": sum(days.values()),
        "days": dict(sorted(days.items())),
        "agents": {day: dict(counter) for day, counter in agents.items()},
    }
    cache.write_text(json.dumps(facts))
    return facts


def _median_key(counts: dict[str, int]) -> str:
    """The key with the median count (ties: the latest key), so the pick is typical."""
    ordered = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return ordered[len(ordered) // 2][0]


def prepare(spec: DataSpec, data_dir: Path) -> DataSet:
    path = ensure_csv(spec, data_dir)
    facts = _facts(path)
    day_rows: dict[str, int] = facts["days"]  # type: ignore[assignment]
    agents: dict[str, dict[str, int]] = facts["agents"]  # type: ignore[assignment]
    # The one-day report: the day with the median row count (a typical weekday).
    day = _median_key(day_rows)
    agent = _median_key(agents[day])
    first, last = min(day_rows), max(day_rows)
    return DataSet(
        spec=spec,
        csv=path,
        rows=int(facts["rows"]),  # type: ignore[call-overload]
        day_rows=day_rows,
        one_day=Range("1d", "1 day", day, day, day_rows[day]),
        all_days=Range("all", f"{len(day_rows)} days", first, last, sum(day_rows.values())),
        small=Range("small", "1 agent, 1 day", day, day, agents[day][agent], user=agent),
    )


def describe(data: DataSet) -> dict[str, object]:
    return {
        "spec": asdict(data.spec),
        "rows": data.rows,
        "one_day": asdict(data.one_day),
        "all_days": asdict(data.all_days),
        "small": asdict(data.small),
    }
