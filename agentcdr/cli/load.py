"""``agentcdr import`` and ``agentcdr demo``: load calls into the store, from files or made up."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import click

from agentcdr import demo as demo_data
from agentcdr.cli.console import file_progress
from agentcdr.cli.context import run, settings_of
from agentcdr.cli.options import store_options
from agentcdr.errors import ConfigError
from agentcdr.ingest import FORMATS, ImportResult, import_file
from agentcdr.settings import Settings
from agentcdr.store import open_call_store
from agentcdr.store.base import WriteCounts


def register(group: click.Group) -> None:
    group.add_command(import_command)
    group.add_command(demo)


def _counts(counts: WriteCounts) -> str:
    return (
        f"{counts.inserted:,} inserted, {counts.updated:,} updated, {counts.unchanged:,} unchanged"
    )


def summary(result: ImportResult) -> str:
    counts = result.counts
    if result.dry_run:
        return (
            f"{result.file}: {result.rows:,} rows: would insert {counts.inserted:,}, "
            f"update {counts.updated:,}, leave {counts.unchanged:,} unchanged "
            "(dry run: nothing was written)"
        )
    rate = result.rows / result.seconds if result.seconds > 0 else 0.0
    return (
        f"{result.file}: {result.rows:,} rows: {_counts(counts)} "
        f"(import {result.import_id}, {result.seconds:.1f} s, {rate:,.0f} rows/s)"
    )


def _warn(message: str) -> None:
    click.echo(f"agentcdr: warning: {message}", err=True)


async def _import(
    settings: Settings,
    files: tuple[Path, ...],
    fmt: str | None,
    source: str,
    show: bool | None,
    dry_run: bool,
) -> None:
    store = open_call_store(settings.db, settings)
    await store.open()
    try:
        for path in files:
            with file_progress(path, show) as progress:
                result = await import_file(
                    store,
                    path,
                    tz=settings.zone,
                    fmt=fmt,
                    source=source,
                    progress=progress,
                    warn=_warn,
                    dry_run=dry_run,
                )
            click.echo(summary(result))
    finally:
        await store.close()


@click.command("import")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS, case_sensitive=False),
    help="File format [default: from the extension: .csv, .ndjson or .jsonl, .json].",
)
@click.option(
    "--source",
    default="",
    metavar="NAME",
    help="Where the calls come from [default: none]. Call ids are unique per source, so two "
    "systems with overlapping ids can be imported side by side; the same file imported under "
    "another source is stored again.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show progress on stderr: on a terminal a line kept up to date, elsewhere a line "
    "per tenth of the file [default: on when stderr is a terminal].",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate and count what would be inserted, updated and left unchanged; write nothing.",
)
@store_options
@click.pass_context
def import_command(
    ctx: click.Context,
    files: tuple[Path, ...],
    fmt: str | None,
    source: str,
    progress: bool | None,
    dry_run: bool,
) -> None:
    """Import calls from CSV, NDJSON or agent_cdr API JSON files.

    Each file is one transaction: a bad value stops the import naming file, line and
    field, and nothing of that file is stored. Importing a file again adds nothing.
    Each import is recorded (agentcdr imports list), and what one added can be removed
    (agentcdr imports remove ID).
    """
    run(_import(settings_of(ctx), files, fmt, source, progress, dry_run))


async def _demo(settings: Settings, spec: demo_data.DemoSpec, if_empty: bool, fresh: bool) -> None:
    store = open_call_store(settings.db, settings)
    await store.open()
    try:
        if if_empty:
            existing = await store.count_calls()
            if existing:
                click.echo(f"demo: the store already has {existing:,} calls; left as it is")
                return
        if fresh:
            now = int(time.time())
            if await demo_data.has_recent_calls(store, now):
                click.echo("demo: the store has calls of the last 24 hours; left as it is")
                return
            removed = await demo_data.remove_stale(store, now)
            if removed:
                click.echo(f"demo: removed {removed:,} calls of older demo data")
        counts = await demo_data.write_store(store, spec)
        click.echo(f"demo: {counts.total:,} calls: {_counts(counts)}")
    finally:
        await store.close()


@click.command("demo")
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=7,
    show_default=True,
    help="Days of calls, ending on --end-day.",
)
@click.option(
    "--agents", type=click.IntRange(1, 100_000), default=300, show_default=True, help="Agents."
)
@click.option(
    "--calls-per-day",
    type=click.IntRange(0, 10_000_000),
    default=6000,
    show_default=True,
    help="Average calls a day; weekdays get more and weekends fewer, and the total is "
    "exactly days times calls-per-day.",
)
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    help="Random seed: the same options give the same calls.",
)
@click.option(
    "--end-day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Last day of the data [default: today in the report time zone].",
)
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing when the store already has calls.",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Keep the demo current (make demo uses it): do nothing when the store has calls "
    "of the last 24 hours; otherwise replace what earlier demo runs added with new days "
    "ending now. Imported and synced calls stay.",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write the calls as a CSV file ('-': standard output) instead of filling the "
    "store; it loads with agentcdr import in the same --tz.",
)
@store_options
@click.pass_context
def demo(
    ctx: click.Context,
    days: int,
    agents: int,
    calls_per_day: int,
    seed: int,
    end_day: datetime | None,
    if_empty: bool,
    fresh: bool,
    csv_path: Path | None,
) -> None:
    """Fill the store with seeded, realistic demo calls (or write them as CSV)."""
    settings = settings_of(ctx)
    spec = demo_data.DemoSpec(
        days=days,
        agents=agents,
        calls_per_day=calls_per_day,
        seed=seed,
        tz=settings.zone,
        end_day=end_day.date() if end_day else None,
    )
    if csv_path is None:
        run(_demo(settings, spec, if_empty, fresh))
    elif str(csv_path) == "-":
        demo_data.write_csv(sys.stdout, spec)
    else:
        try:
            with csv_path.open("w", encoding="utf-8", newline="") as out:
                count = demo_data.write_csv(out, spec)
        except OSError as exc:
            raise ConfigError(f"cannot write {csv_path}: {exc.strerror or exc}") from exc
        click.echo(f"demo: wrote {count:,} calls to {csv_path}")
