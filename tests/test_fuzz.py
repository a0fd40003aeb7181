"""Property: whatever parameters arrive, in a query, a form or a JSON body, on every store, the
answer is a success or a 4xx with the error body of its code, never a 5xx."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentcdr.errors import BY_CODE
from agentcdr.params import LIST_PARAMS, SCALAR_PARAMS
from tests.conftest import API, USERS, ApiHarness
from tests.seed import PASSWORD, seed

NAMES = sorted((LIST_PARAMS | SCALAR_PARAMS) - {"goAction", "goUser", "goPass", "responsetype"})

# Values that stress the parsers: any text (NUL, line ends, other scripts' digits), numbers of
# every size, date-like and time-like shapes at and past the calendar's ends, zone-like names.
TEXT = st.text(max_size=40)
NUMBERS = st.integers(min_value=-(2**80), max_value=2**80).map(str)
DATES = st.builds(
    "{:04d}-{:02d}-{:02d}".format,
    st.integers(0, 10_000),
    st.integers(0, 13),
    st.integers(0, 32),
)
STAMPS = st.builds(
    "{} {:02d}:{:02d}:{:02d}".format,
    DATES,
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
)
ZONES = st.sampled_from(
    ["America", "Etc", "UTC", "Asia/Tokyo", "America/New_York", "../etc/passwd", "x" * 300, ""]
)
CURSORS = st.builds(
    lambda ts, row, order: (
        base64.urlsafe_b64encode(json.dumps([ts, row, order]).encode()).decode().rstrip("=")
    ),
    st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=5)),
    st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=70)),
    st.sampled_from(["asc", "desc", "up"]),
)
VALUE = st.one_of(TEXT, NUMBERS, DATES, STAMPS, ZONES, CURSORS)
PARAMS = st.dictionaries(
    st.one_of(st.sampled_from(NAMES), st.text(min_size=1, max_size=10)),
    st.one_of(VALUE, st.lists(VALUE, max_size=4)),
    max_size=6,
)
FORMAT = st.sampled_from(["json", "xml", "csv", "ndjson", "xlsx", "JSON", "html", ""])
ACTION = st.sampled_from(["agent_cdr", "agent_cdr_summary", "other"])


def check(response: Any) -> None:
    status = response.status_code
    assert status < 500, response.text[:500]
    if status < 400:
        return
    if response.headers["content-type"].startswith("application/xml"):
        root = ET.fromstring(response.content)
        body = {e.tag: e.text for e in root}
    else:
        body = orjson.loads(response.content)
    assert set(body) == {"result", "code", "message"}
    assert body["result"] == "error"
    assert BY_CODE[body["code"]].status == status
    assert body["message"]


def _pairs(values: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, item))
    return pairs


def test_no_parameters_make_a_5xx(store_url: str, open_api: Callable[..., ApiHarness]) -> None:
    seed(store_url, users=USERS)
    api = open_api(store_url, login_max_user_failures=10**6, login_max_addr_failures=10**6)
    credentials = {"goUser": "admin", "goPass": PASSWORD}

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(values=PARAMS, fmt=FORMAT, action=ACTION, how=st.sampled_from(["get", "form", "json"]))
    def run(values: dict[str, Any], fmt: str, action: str, how: str) -> None:
        base = {"goAction": action, "responsetype": fmt, **credentials}
        if how == "json":
            response = api.client.post(API, json={**base, **values})
        elif how == "form":
            response = api.client.post(
                API,
                content=urlencode(_pairs({**base, **values})),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            response = api.client.get(API, params=_pairs({**base, **values}))
        check(response)

    run()
