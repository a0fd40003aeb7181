"""``agentcdr fetch`` and ``agentcdr sync``: a remote agent_cdr server, read with the client.

``fetch`` writes a report file (CSV, JSON, NDJSON or Parquet); ``sync`` mirrors the remote
into a local store. Both are resumable: a run that fails goes on where it stopped.
Their options are ``agentcdr.cli.options.remote_options``; the password is read as
``agentcdr.cli.console`` reads every password.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click

from agentcdr.cli.console import SpanProgress
from agentcdr.cli.context import run, settings_of
from agentcdr.cli.options import Remote, db_option, remote_options
from agentcdr.client import AsyncClient, Client, InvalidArgument, Span
from agentcdr.client.output import OUTPUT_FORMATS, ReportFile, format_of, parse_fields
from agentcdr.client.plan import Filters, source_of, today_in
from agentcdr.errors import ConfigError
from agentcdr.store import open_call_store
from agentcdr.sync import SyncState, default_state_path, mirror

WRITE_ROWS = 2000


def register(group: click.Group) -> None:
    group.add_command(fetch)
    group.add_command(sync)


# The client's argument names -> the options a user types.
OPTION_OF = {
    "from_date": "--from",
    "to_date": "--to",
    "tz": "--tz",
    "updated_since": "--updated-since",
    "users": "--user",
    "tenants": "--tenant",
    "profiles": "--profile",
    "dispositions": "--disposition",
    "call_types": "--call-type",
    "campaigns": "--campaign",
    "page_size": "--page-size",
    "response_format": "--response-format",
}


@contextmanager
def options_named() -> Iterator[None]:
    """The client's argument errors, as one line naming the option the user typed."""
    try:
        yield
    except InvalidArgument as exc:
        option = OPTION_OF.get(exc.argument, exc.argument)
        raise ConfigError(f"{option}: {exc.detail}") from None


def _spans(client: Client | AsyncClient, skip: Iterable[date], filters: Filters) -> list[Span]:
    """The spans to fetch; the client's argument errors become one line for the user."""
    with options_named():
        return client.spans(skip, **filters)


@click.command()
@remote_options
@click.option("--user", "users", multiple=True, help="An agent (repeat, or a comma list).")
@click.option("--tenant", "tenants", multiple=True, help="A tenant code (repeat, or a comma list).")
@click.option("--profile", "profiles", multiple=True, help="A profile (repeat, or a comma list).")
@click.option(
    "--disposition", "dispositions", multiple=True, help="A disposition (repeat, or a comma list)."
)
@click.option(
    "--call-type",
    "call_types",
    multiple=True,
    help="MANUAL, DIALER or INBOUND (repeat, or a comma list).",
)
@click.option(
    "--campaign", "campaigns", multiple=True, help="A campaign name (repeat, or a comma list)."
)
@click.option(
    "--updated-since",
    metavar="'YYYY-MM-DD HH:MM:SS'",
    help="Only calls inserted or changed since then.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The report file; written as FILE.part and renamed when complete.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(OUTPUT_FORMATS),
    help="[default: from the extension: .csv, .json, .ndjson or .jsonl, .parquet or .pq]",
)
@click.option(
    "--fields",
    help="Columns: a comma list, or 'all' (adds call_duration_sec, profile and call_id) "
    "[default: the 11 documented fields].",
)
@click.option("--restart", is_flag=True, help="Ignore what an earlier failed run fetched.")
def fetch(
    remote: Remote,
    users: tuple[str, ...],
    tenants: tuple[str, ...],
    profiles: tuple[str, ...],
    dispositions: tuple[str, ...],
    call_types: tuple[str, ...],
    campaigns: tuple[str, ...],
    updated_since: str | None,
    output: Path,
    fmt: str | None,
    fields: str | None,
    restart: bool,
) -> None:
    """Fetch an agent_cdr report from a remote server into a file.

    Without --to the report runs through today (in --tz, else the local zone). Days are
    fetched one request each (--chunk-days) with retries; a failed run leaves FILE.part and
    FILE.state.json, and the next run with the same arguments fetches only the missing days.
    """
    filters: Filters = {
        "from_date": remote.first,
        "to_date": remote.last or today_in(remote.tz),
        "users": _split(users),
        "tenants": _split(tenants),
        "profiles": _split(profiles),
        "dispositions": _split(dispositions),
        "call_types": _split(call_types),
        "campaigns": _split(campaigns),
        "tz": remote.tz,
        "updated_since": updated_since,
    }
    key = {"url": remote.url, **{k: _jsonable(v) for k, v in filters.items()}}
    report = ReportFile(output, format_of(output, fmt), parse_fields(fields), key)
    password = remote.password()
    report.open(restart=restart)
    bar: SpanProgress | None = None
    try:
        with (
            options_named(),
            Client(remote.url, remote.go_user, password, **remote.options()) as client,
        ):
            spans = _spans(client, report.done_days, filters)
            bar = SpanProgress(remote.progress, len(spans), report.rows)
            for span, rows in client.agent_cdr_spans(skip_days=report.done_days, **filters):
                bar.start(span)
                batch = []
                for row in rows:
                    batch.append(row)
                    if len(batch) >= WRITE_ROWS:
                        report.write(batch)
                        bar.add_rows(len(batch))
                        batch = []
                report.write(batch)
                bar.add_rows(len(batch))
                report.span_done(span)
                bar.finish_span()
        report.finish()
    finally:
        report.close()
        if bar is not None:
            bar.end()
    click.echo(f"agentcdr: wrote {report.rows} rows to {output}", err=True)


def _split(values: tuple[str, ...]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


@click.command()
@remote_options
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The sync state file [default: DB.sync-HOST_PORT.json next to a SQLite database, "
    "else agentcdr-sync-HOST_PORT.json in the current directory].",
)
@click.option(
    "--changes",
    is_flag=True,
    help="Re-read the whole range, but only the calls changed since the last complete sync "
    "(updatedSince).",
)
@db_option
@click.pass_context
def sync(ctx: click.Context, remote: Remote, state: Path | None, changes: bool) -> None:
    """Mirror a remote agent_cdr server into the local store (--db).

    Calls keep the remote's call_id under the remote's host name, so syncing again adds
    nothing. Finished days are recorded in the state file and not fetched again; --changes
    re-reads the whole range but only the calls the remote changed since the last sync.
    """
    settings = settings_of(ctx)
    password = remote.password()
    url = remote.url
    sync_state = SyncState.load(state or default_state_path(settings.db, url), source_of(url))
    # Changes are few: bigger spans mean fewer requests.
    options = remote.options(chunk_days=31 if changes else 1)
    tz = remote.tz or "UTC"
    first, last = remote.first, remote.last

    async def go() -> None:
        store = open_call_store(settings.db, settings)
        await store.open()
        bar: SpanProgress | None = None
        try:
            with options_named():
                client = AsyncClient(url, remote.go_user, password, **options)
            async with client:
                skip = () if changes else sync_state.done
                spans = _spans(client, skip, {"from_date": first, "to_date": last, "tz": tz})
                bar = SpanProgress(remote.progress, len(spans))
                result = await mirror(
                    client,
                    store,
                    sync_state,
                    from_date=first,
                    to_date=last,
                    tz=tz,
                    changes=changes,
                    progress=bar,
                )
        finally:
            if bar is not None:
                bar.end()
            await store.close()
        counts = result.counts
        click.echo(
            f"agentcdr: synced {result.rows} rows in {result.spans} spans from "
            f"{sync_state.source}: {counts.inserted} new, {counts.updated} updated, "
            f"{counts.unchanged} unchanged",
            err=True,
        )

    run(go())
