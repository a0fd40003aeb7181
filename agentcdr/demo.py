"""Seeded, realistic demo data for a collections and loan-servicing call center.

Six portfolios (tenants) run campaigns named portfolio + profile (``GALCOLLECTIONS``); a few
hundred agents named ``First.LastN`` each work one or two campaigns; calls are MANUAL or
DIALER with the dispositions, durations and term reasons such a floor produces (voicemails
last 15-60 s, right-party contacts minutes, promises to pay longer, and now and then a line
left open for hours). Calls fall between 08:00 and 21:00 in the report zone, weekdays much
busier than weekends, and repeat on the same accounts, as collections calls do.

The same arguments give the same calls, byte for byte (``random.Random(seed)`` and nothing
else): tests, benchmarks and screenshots can rely on them. The first two agents are the API
document's own ``Example.User1`` and ``Example.User2``, at work every day, so its examples
return rows. No call is later than the moment the data is made: on the last day, calls stop
at "now".

A demo call has no id of its own: like an imported row without ``call_id``, it is known by
its natural key (``records.natural_key``), so a report exported from the demo store and
imported into it again adds nothing.
"""

from __future__ import annotations

import random
import time
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate, islice
from typing import Final, TextIO
from zoneinfo import ZoneInfo

from agentcdr import csvtext
from agentcdr.clock import ZoneClock
from agentcdr.records import DEFAULT_FIELDS, CallRecord, ReportRequest, natural_key
from agentcdr.render import format_duration
from agentcdr.store.base import CallStore, WriteCounts

# The API document's example agents: agents 1 and 2, present every day.
EXAMPLE_USERS: Final = ("Example.User1", "Example.User2")
CSV_HEADER: Final = (*DEFAULT_FIELDS, "call_id", "profile")

# Portfolio code, weight of its call volume, its campaigns' profiles.
PORTFOLIOS: Final = (
    ("GAL", 30, ("SERVERS", "COLLECTIONS", "FRESHLEADS")),
    ("CSC", 22, ("SERVERS", "COLLECTIONS", "FRESHLEADS", "RECOVERY")),
    ("MBF", 16, ("SERVERS", "COLLECTIONS", "FRESHLEADS")),
    ("RVL", 12, ("COLLECTIONS", "RECOVERY")),
    ("KFN", 10, ("SERVERS", "COLLECTIONS", "FRESHLEADS")),
    ("TRX", 10, ("SERVERS", "COLLECTIONS", "RECOVERY")),
)
PROFILE_WEIGHT: Final = {"COLLECTIONS": 45, "SERVERS": 25, "FRESHLEADS": 20, "RECOVERY": 10}
# Share of MANUAL calls per profile (the rest are DIALER): servicing dials by hand.
MANUAL_SHARE: Final = {"SERVERS": 0.6, "COLLECTIONS": 0.25, "FRESHLEADS": 0.15, "RECOVERY": 0.35}

# Disposition -> (median seconds, spread (log-normal sigma), min, max, term reason weights).
_TERMS: Final = ("CALLER", "AGENT", "ABANDON", "NONE")
DISPOSITIONS: Final = {
    "No Answer": (18, 0.4, 5, 45, (25, 0, 15, 60)),
    "Busy": (6, 0.4, 2, 20, (30, 0, 0, 70)),
    "VM / NML": (28, 0.35, 15, 60, (20, 70, 0, 10)),
    "VM / LM - Left Message": (45, 0.3, 20, 90, (20, 80, 0, 0)),
    "WRONG NUMBER": (35, 0.5, 10, 180, (55, 45, 0, 0)),
    "Disconnected Number": (8, 0.4, 3, 30, (30, 0, 0, 70)),
    "Hung Up": (12, 0.6, 2, 90, (90, 0, 0, 10)),
    "Dropped": (3, 0.5, 0, 15, (0, 0, 100, 0)),
    "RPC": (210, 0.6, 45, 2400, (45, 50, 0, 5)),
    "PTP - Promise To Pay": (380, 0.5, 90, 3600, (30, 70, 0, 0)),
    "Payment Taken": (540, 0.45, 150, 3600, (20, 80, 0, 0)),
    "Refused To Pay": (150, 0.6, 30, 1800, (65, 35, 0, 0)),
    "3RD - Third Party": (75, 0.6, 20, 600, (50, 50, 0, 0)),
    "Callback Scheduled": (120, 0.5, 30, 900, (25, 75, 0, 0)),
    "Dispute": (420, 0.6, 60, 3600, (45, 55, 0, 0)),
    "DNC - Do Not Call": (40, 0.5, 10, 300, (40, 60, 0, 0)),
    "BK - Bankruptcy": (300, 0.5, 60, 1800, (30, 70, 0, 0)),
    "Account Inquiry": (260, 0.6, 60, 2400, (40, 60, 0, 0)),
    "Payoff Quote": (300, 0.5, 90, 1800, (35, 65, 0, 0)),
    "Transferred": (90, 0.6, 20, 900, (10, 90, 0, 0)),
}
# How often each profile ends a call with each disposition ("Dropped" only on DIALER calls).
MIX: Final[dict[str, dict[str, float]]] = {
    "COLLECTIONS": {"No Answer": 14, "Busy": 3, "VM / NML": 20, "VM / LM - Left Message": 10,
                    "WRONG NUMBER": 5, "Disconnected Number": 3, "RPC": 12,
                    "PTP - Promise To Pay": 9, "Payment Taken": 4, "Refused To Pay": 4,
                    "3RD - Third Party": 5, "Callback Scheduled": 4, "Dispute": 1.5,
                    "Hung Up": 4, "DNC - Do Not Call": 0.5, "BK - Bankruptcy": 0.5, "Dropped": 2},
    "SERVERS": {"Account Inquiry": 22, "Payoff Quote": 6, "Payment Taken": 10, "RPC": 10,
                "VM / NML": 12, "VM / LM - Left Message": 8, "No Answer": 8,
                "Callback Scheduled": 6, "Transferred": 6, "Dispute": 2, "WRONG NUMBER": 2,
                "Hung Up": 3, "Busy": 2, "Disconnected Number": 1, "DNC - Do Not Call": 0.5},
    "FRESHLEADS": {"VM / NML": 24, "No Answer": 18, "VM / LM - Left Message": 10, "RPC": 12,
                   "PTP - Promise To Pay": 10, "Callback Scheduled": 5, "WRONG NUMBER": 6,
                   "Disconnected Number": 4, "Busy": 3, "Hung Up": 4, "Refused To Pay": 2,
                   "Dropped": 2},
    "RECOVERY": {"VM / NML": 22, "No Answer": 18, "WRONG NUMBER": 8, "Disconnected Number": 7,
                 "RPC": 10, "PTP - Promise To Pay": 6, "Payment Taken": 2, "Refused To Pay": 8,
                 "Dispute": 3, "BK - Bankruptcy": 2, "DNC - Do Not Call": 2,
                 "3RD - Third Party": 6, "Hung Up": 5, "Dropped": 1},
}  # fmt: skip
_STUCK_SHARE: Final = 0.001  # calls whose line stayed open for hours


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES: Final = _words(
    "Maria James Aisha Wei Carlos Fatima John Priya Ahmed Olga Luis Mei Daniel Grace Omar "
    "Sofia Kevin Ana David Keisha Miguel Hannah Tomas Yuki Andre Nadia Brian Lucia Samuel "
    "Elena Marcus Ines Victor Rosa Ethan Amara Diego Leah Hassan Chloe Jorge Tanya Noah "
    "Camila Ivan Zara Pedro Monique Ryan Lina"
)
LAST_NAMES: Final = _words(
    "Lopez Smith Johnson Nguyen Garcia Brown Patel Kim Williams Rodriguez Chen Davis Martinez "
    "Wilson Hernandez Moore Singh Taylor Anderson Thomas Jackson White Harris Clark Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Hill Flores Green Adams Nelson Baker "
    "Rivera Campbell Mitchell Carter Roberts Ali Okafor Silva Cohen Murphy Reyes"
)
AREA_CODES: Final = _words(
    "205 213 248 312 313 346 404 410 469 480 502 512 602 614 678 702 713 718 754 773 786 "
    "804 813 832 901 904 914 917 919 954"
)
# Calls per half hour from 08:00 to 21:00: a morning peak, a lunch dip, an evening peak.
SLOTS: Final = (5, 8, 10, 11, 12, 12, 11, 10, 8, 8, 9, 10, 10, 10, 9, 9, 10, 11, 12, 12, 11, 9,
                7, 5, 4, 3)  # fmt: skip
DAY_WEIGHT: Final = (1.1, 1.0, 1.0, 1.0, 0.95, 0.45, 0.15)  # Monday .. Sunday
PRESENCE: Final = (0.93, 0.93, 0.93, 0.92, 0.9, 0.4, 0.15)  # share of agents at work


@dataclass(frozen=True)
class Agent:
    user: str
    weight: float  # how many calls the agent makes relative to others
    always: bool  # at work every day
    campaigns: tuple[tuple[str, str, str], ...]  # (portfolio, campaign, profile)
    cum_share: tuple[float, ...]  # cumulative chance of each campaign


def _cum(weights: list[float]) -> tuple[list[float], float]:
    cum = list(accumulate(weights))
    return cum, cum[-1]


def _agents(rng: random.Random, count: int) -> list[Agent]:
    codes = [p[0] for p in PORTFOLIOS]
    code_cum, code_total = _cum([float(p[1]) for p in PORTFOLIOS])
    profiles_of = {p[0]: p[2] for p in PORTFOLIOS}
    agents = []
    for number in range(1, count + 1):
        user = f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}{number}"
        example = number <= len(EXAMPLE_USERS)
        if example:
            user = EXAMPLE_USERS[number - 1]
        code = codes[bisect(code_cum, rng.random() * code_total)]
        offered = profiles_of[code]
        profile = rng.choices(offered, [PROFILE_WEIGHT[p] for p in offered])[0]
        work = [(code, profile)]
        if rng.random() < 0.3:  # a second campaign: another profile, or another portfolio
            other = rng.choice([(code, p) for p in offered if p != profile] or work)
            if rng.random() < 0.4:
                other = rng.choice([(c, profile) for c in codes if profile in profiles_of[c]])
            if other not in work:
                work.append(other)
        shares = [0.75, 0.25] if len(work) == 2 else [1.0]
        campaigns = tuple((c, c + p, p) for c, p in work)
        weight = rng.lognormvariate(0.0, 0.3)
        agents.append(Agent(user, weight, example, campaigns, tuple(accumulate(shares))))
    return agents


def _mix(profile: str, manual: bool) -> tuple[list[str], list[float], float]:
    names = [n for n, w in MIX[profile].items() if w > 0 and not (manual and n == "Dropped")]
    cum, total = _cum([MIX[profile][n] for n in names])
    return names, cum, total


def _day_counts(days: list[date], total: int) -> list[int]:
    """``total`` calls spread over days by weekday weight; the counts add up exactly."""
    weights = [DAY_WEIGHT[d.weekday()] for d in days]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    by_remainder = sorted(range(len(days)), key=lambda i: counts[i] - weights[i] * scale)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _mixed(k: int, salt: int) -> int:
    """A well-spread 64-bit number from a lead number: lead attributes without storing them."""
    x = (k * 0x9E3779B97F4A7C15 + salt) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


@dataclass(frozen=True)
class DemoSpec:
    """What to generate: ``days * calls_per_day`` calls ending on ``end_day`` (default:
    today in ``tz``), none later than ``now`` (UTC epoch seconds; default: the moment of
    generating)."""

    days: int = 7
    agents: int = 300
    calls_per_day: int = 6000
    seed: int = 42
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    end_day: date | None = None
    now: float | None = None


CallValues = tuple[str, str, int, str, str, str, str, int, int | None, str, str, str, str]


def _calls(spec: DemoSpec) -> Iterator[CallValues]:
    """The calls as tuples in ``CallRecord`` field order, oldest first."""
    clock, days = ZoneClock(spec.tz), spec.days
    now = int(time.time() if spec.now is None else spec.now)
    end_day = spec.end_day or clock.day(now)
    rng = random.Random(spec.seed)  # noqa: S311 - reproducible data, not secrets
    agents = _agents(rng, spec.agents)
    salt = rng.getrandbits(64)
    mixes = {(p, m): _mix(p, m) for p in MIX for m in (False, True)}
    terms = {name: _cum(list(d[4])) for name, d in DISPOSITIONS.items()}
    # Each portfolio has its own accounts; about one account per three calls.
    volume = {p[0]: p[1] / sum(q[1] for q in PORTFOLIOS) for p in PORTFOLIOS}
    total_calls = days * spec.calls_per_day
    accounts, first = {}, 0
    for code, share in volume.items():
        size = max(200, int(total_calls * share / 3))
        accounts[code] = (first, size)
        first += size
    slot_cum, slot_total = _cum([float(s) for s in SLOTS])
    day_list = [end_day - timedelta(days=n) for n in range(days - 1, -1, -1)]
    for day, count in zip(day_list, _day_counts(day_list, total_calls), strict=True):
        present = [
            a for a in agents if rng.random() < PRESENCE[day.weekday()] or a.always
        ] or agents[:1]
        agent_cum, agent_total = _cum([a.weight for a in present])
        opening = clock.instant(day, 8 * 3600)
        offsets = sorted(
            bisect(slot_cum, rng.random() * slot_total) * 1800 + rng.randrange(1800)
            for _ in range(count)
        )
        for offset in offsets:
            agent = present[bisect(agent_cum, rng.random() * agent_total)]
            code, campaign, profile = agent.campaigns[bisect(agent.cum_share, rng.random())]
            manual = rng.random() < MANUAL_SHARE[profile]
            names, cum, total = mixes[profile, manual]
            disposition = names[bisect(cum, rng.random() * total)]
            median, spread, low, high, _ = DISPOSITIONS[disposition]
            seconds = min(high, max(low, int(median * rng.lognormvariate(0.0, spread))))
            term_cum, term_total = terms[disposition]
            term = _TERMS[bisect(term_cum, rng.random() * term_total)]
            if rng.random() < _STUCK_SHARE:
                seconds, term = rng.randrange(3600, 6 * 3600), "NONE"
            start, size = accounts[code]
            lead = start + rng.randrange(size)
            h = _mixed(lead, salt)
            area = AREA_CODES[h % len(AREA_CODES)]
            phone = f"{area}{200 + h // 1000 % 800}{h // 1_000_000 % 10000:04d}"
            lead_id: int | None = 1_000_000 + lead
            if manual and h >> 40 & 31 == 0:  # a number dialled by hand, no account
                lead_id, loan = None, ""
            elif profile == "FRESHLEADS" and h >> 45 & 3 == 0:  # not boarded yet
                loan = ""
            else:  # 1111111-222222-001: account, loan, and which loan of the account
                account, loan_no = 1_000_000 + h % 9_000_000, 100_000 + h // 9_000_000 % 900_000
                loan = f"{account}-{loan_no}-00{h >> 50 & 3 or 1}"
            answer_ts = opening + offset
            if answer_ts > now:
                continue  # drawn all the same: the calls before now do not depend on now
            yield (
                natural_key(agent.user, answer_ts, phone, lead_id, campaign),
                agent.user,
                answer_ts,
                disposition,
                phone,
                loan,
                "MANUAL" if manual else "DIALER",
                seconds,
                lead_id,
                term,
                code,
                campaign,
                profile,
            )


def generate(
    days: int = 7,
    agents: int = 300,
    calls_per_day: int = 6000,
    seed: int = 42,
    tz: ZoneInfo | None = None,
    end_day: date | None = None,
    now: float | None = None,
) -> Iterator[CallRecord]:
    """``days * calls_per_day`` demo calls, oldest first, ending on ``end_day`` (default:
    today in ``tz``, default UTC) and never later than ``now``. Deterministic for the same
    arguments."""
    spec = DemoSpec(days, agents, calls_per_day, seed, tz or ZoneInfo("UTC"), end_day, now)
    for values in _calls(spec):
        yield CallRecord(*values)


async def write_store(store: CallStore, spec: DemoSpec, batch_rows: int = 5000) -> WriteCounts:
    """Writes the demo calls into a store in one transaction."""
    records = generate(
        spec.days, spec.agents, spec.calls_per_day, spec.seed, spec.tz, spec.end_day, spec.now
    )
    async with store.writer(kind="demo", name=f"{spec.days} days, seed {spec.seed}") as writer:
        while batch := list(islice(records, batch_rows)):
            await writer.write(batch)
    return writer.counts


async def has_recent_calls(store: CallStore, now: int) -> bool:
    """Whether the store holds a call answered in the 24 hours before ``now``: the window of
    a report without dates, which the README's first request is."""
    request = ReportRequest(start_ts=now - 86_400, end_ts=now + 1, tz=ZoneInfo("UTC"), limit=0)
    stream = await store.report(request, 1)
    try:
        async for batch in stream:
            return bool(batch)
        return False
    finally:
        await stream.aclose()


async def remove_stale(store: CallStore, now: int) -> int:
    """Removes what earlier demo runs added (their entries in the record of imports); returns
    how many calls. Calls imported or synced into the store stay."""
    if store.imports is None:
        return 0
    removed = 0
    for entry in await store.imports.list():
        if entry.kind == "demo" and entry.removed_at is None and entry.calls:
            removed += await store.imports.remove(entry.id, now)
    return removed


def write_csv(out: TextIO, spec: DemoSpec) -> int:
    """Writes the same calls as ``generate`` as an importable CSV; returns the row count.

    Rows are formatted straight from the generator's tuples (no ``CallRecord`` objects), so
    the benchmark's millions of rows are written at the speed of the generator.
    """
    local = ZoneClock(spec.tz).text
    out.write(csvtext.lines([CSV_HEADER], "\n"))
    count = 0
    chunk: list[tuple[str, ...]] = []
    for cid, user, ts, disp, phone, loan, ctype, secs, lead, term, port, camp, prof in _calls(spec):
        chunk.append(
            (user, local(ts), disp, phone, loan, ctype, format_duration(secs),
             "" if lead is None else str(lead), term, port, camp, cid, prof)
        )  # fmt: skip
        if len(chunk) == 5000:
            out.write(csvtext.lines(chunk, "\n"))
            count += len(chunk)
            chunk.clear()
    out.write(csvtext.lines(chunk, "\n"))
    return count + len(chunk)
