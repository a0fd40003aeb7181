"""The store the report page's tests read: one day of 650 calls by three agents, with
known dispositions, campaigns, phone and loan numbers, and a day with markup in a
disposition and in an agent's name."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from agentcdr.records import CallRecord
from tests.seed import call

DAY: Final = "2025-05-13"
DAY_VIEW: Final = f"?preset=custom&fromDate={DAY}&toDate={DAY}"
DAY_CALLS: Final = 650  # more than three of the page's pages (200 rows each)
AGENTS: Final = ("Example.User1", "Example.User2", "Example.User3")
DISPOSITIONS: Final = ("VM / NML", "No Answer", "RPC", "VM / NML", "Busy")
XSS_DAY: Final = "2025-05-14"
XSS: Final = '<img src=x onerror="window.__xss = 1">'
XSS_AGENT: Final = '<img src=y onerror="window.__xss = 2">'


def day_calls() -> list[CallRecord]:
    """Call i: agent i % 3, disposition i % 5, a minute apart from 08:00, campaigns and call
    types alternating, phone 555000000i, loan 000000i-222222-001, 10 + i % 7 seconds."""
    start = datetime.strptime(f"{DAY} 08:00:00", "%Y-%m-%d %H:%M:%S")
    return [
        call(
            f"d{i}",
            AGENTS[i % 3],
            (start + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S"),
            "GALSERVERS" if i % 2 else "CSCCOLLECTIONS",
            call_type="DIALER" if i % 2 else "MANUAL",
            disposition=DISPOSITIONS[i % 5],
            phone=f"555{i:07d}",
            loan=f"{i:07d}-222222-001",
            seconds=10 + i % 7,
        )
        for i in range(DAY_CALLS)
    ]


def calls() -> list[CallRecord]:
    return [
        *day_calls(),
        call("x1", "Example.User1", f"{XSS_DAY} 09:30:00", "GALSERVERS", disposition=XSS),
        call("x2", XSS_AGENT, f"{XSS_DAY} 10:30:00", "GALSERVERS", disposition="RPC"),
    ]
