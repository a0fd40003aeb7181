"""A summary (``goAction=agent_cdr_summary``) as a response body, in every format of the
report: the same envelope, a row per group (its keys, then ``calls``, ``total_sec``,
``avg_sec`` and ``max_sec``), the headers and ``meta``. A summary is computed whole by the
database and is small (groups, not calls), so it is answered in one piece."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import orjson

from agentcdr import csvtext
from agentcdr.encoders.json import dumps
from agentcdr.encoders.xml import PROLOGUE, clean, element
from agentcdr.records import column_headers as headers
from agentcdr.summary import SummaryRow

METRICS: Final = ("calls", "total_sec", "avg_sec", "max_sec")


def summary_fields(group_by: Sequence[str]) -> tuple[str, ...]:
    return (*group_by, *METRICS)


def _metrics(row: SummaryRow) -> tuple[int, ...]:
    return (row.calls, row.total_sec, row.avg_sec, row.max_sec)


def _values(row: SummaryRow) -> tuple[Any, ...]:
    return (*row.keys, *_metrics(row))


def encode_summary(
    fmt: str,
    group_by: Sequence[str],
    rows: Sequence[SummaryRow],
    meta: dict[str, Any],
    *,
    neutralize: bool = False,
) -> bytes:
    """``neutralize``: CSV key cells as ``csvtext.neutral`` (the counts are plain numbers)."""
    fields = summary_fields(group_by)
    if fmt == "csv":
        key = csvtext.neutral if neutralize else str
        text = [[key(str(k)) for k in r.keys] + [str(v) for v in _metrics(r)] for r in rows]
        return csvtext.lines([list(fields), *text]).encode()
    objects = [dict(zip(fields, _values(r), strict=True)) for r in rows]
    if fmt == "ndjson":
        return b"".join(dumps(o, option=orjson.OPT_APPEND_NEWLINE) for o in objects)
    columns = headers(fields)
    if fmt == "xml":
        parts = [
            "<action>agent_cdr_summary</action>\n<result>success</result>\n<data>\n",
            *(element("rows", o) + "\n" for o in objects),
            *(element("headers", h) + "\n" for h in columns),
            element("meta", meta) + "\n",
            "</data>\n</goautodialapi>\n",
        ]
        return clean(PROLOGUE + "".join(parts))
    return dumps({"result": "success", "data": {"rows": objects, "headers": columns, "meta": meta}})
