"""/openapi.json agrees with the endpoint: requests generated from the description
(schemathesis) find no 500 and no answer outside it; the description names every parameter,
list form and error code; /docs shows it under the strict policy."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from agentcdr import params
from agentcdr.errors import BY_CODE
from tests.asgi import make_app
from tests.conftest import API, USERS, ApiHarness
from tests.seed import PASSWORD, seed

DOCS = Path(__file__).parent.parent / "docs"


def _app() -> Starlette:
    # Made at import: schemathesis's pytest plugin makes one test per operation when the
    # module is collected (its lazy loader does not work with pytest 9).
    tmp = Path(_SCRATCH.name)
    url = f"sqlite:///{tmp / 'calls.db'}"
    seed(url, users=USERS)
    # Every generated request is also a login: no throttle gets in the way of the property.
    limits = {"login_max_user_failures": 10**6, "login_max_addr_failures": 10**6}
    return make_app(url, tmp, chunk_rows=2, **limits)


_SCRATCH = tempfile.TemporaryDirectory(prefix="agentcdr-openapi-")
schema = schemathesis.openapi.from_asgi("/openapi.json", _app())
# Valid requests, and requests that break the description (wrong types, bad values).
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def signed_in(case: Any) -> None:
    """Valid credentials where the case names a user, so that most requests get past the
    login to the checks of the other parameters (wrong ones are in test_errors)."""
    for container in (case.query, case.body):
        if isinstance(container, dict) and ("goUser" in container or "goPass" in container):
            container["goUser"], container["goPass"] = "admin", PASSWORD


@schema.parametrize()
@settings(
    # More for a deeper search: AGENTCDR_OPENAPI_EXAMPLES=1000 pytest tests/test_openapi.py
    max_examples=int(os.environ.get("AGENTCDR_OPENAPI_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_the_endpoint_keeps_to_its_description(case: Any) -> None:
    signed_in(case)
    case.call_and_validate(checks=CHECKS)


def description(api: ApiHarness) -> dict[str, Any]:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = response.json()
    assert body["openapi"] == "3.1.0"
    return body


def codes_of_the_table() -> list[str]:
    text = (DOCS / "api.md").read_text()
    table = text.split("## Errors", 1)[1].split("\n\n", 3)[2]
    return re.findall(r"^\| `(\d{5})` \|", table, re.MULTILINE)


def test_every_error_code_of_the_docs_is_in_the_description(sqlite_api: ApiHarness) -> None:
    body = description(sqlite_api)
    codes = codes_of_the_table()
    assert sorted(codes) == sorted(BY_CODE)
    assert body["components"]["schemas"]["Error"]["properties"]["code"]["enum"] == list(BY_CODE)
    operations = body["paths"][API]
    described_codes = set()
    for operation in operations.values():
        if not isinstance(operation, dict) or "responses" not in operation:
            continue
        for response in operation["responses"].values():
            described_codes.update(re.findall(r"`(\d{5})`", response["description"]))
    assert described_codes == set(codes)
    for code, error in BY_CODE.items():
        where = "post" if error.status != 405 else "put"
        response = operations[where]["responses"][str(error.status)]
        assert f"`{code}`" in response["description"]


def test_every_parameter_in_every_list_form(sqlite_api: ApiHarness) -> None:
    body = description(sqlite_api)
    get = body["paths"][API]["get"]
    query = {p["name"]: p for p in get["parameters"]}
    names = params.LIST_PARAMS | params.SCALAR_PARAMS
    assert {n for n in query if not n.endswith("[]")} == names
    form = body["paths"][API]["post"]["requestBody"]["content"]
    assert set(form) == {"application/x-www-form-urlencoded", "multipart/form-data", "application/json"}  # fmt: skip
    fields = form["application/x-www-form-urlencoded"]["schema"]
    json_body = form["application/json"]["schema"]
    for name in params.LIST_PARAMS:
        assert query[name]["schema"]["type"] == "array"
        assert (query[name]["style"], query[name]["explode"]) == ("form", True)
        assert f"{name}[]" in query
        assert f"`{name}=a,b`" in query[name]["description"]
        assert f"`{name}[0]=a`" in query[name]["description"]
        assert f"{name}[]" in fields["properties"]
        assert re.fullmatch(next(iter(p for p in fields["patternProperties"] if name in p)), f"{name}[3]")  # fmt: skip
        assert len(json_body["properties"][name]["anyOf"]) == 2
    for name in params.SCALAR_PARAMS:
        assert name in fields["properties"]
        assert name in json_body["properties"]
    assert body["components"]["securitySchemes"]["basic"] == {
        "type": "http",
        "scheme": "basic",
        "description": "Instead of goUser and goPass (extension).",
    }
    assert set(body["paths"][API]) >= {"get", "post", "head", "options", "put", "patch", "delete"}


def test_the_description_follows_the_settings(
    sqlite_url: str, open_api: Any, tmp_path: Path
) -> None:
    seed(sqlite_url, users=USERS)
    plain = description(open_api(sqlite_url))
    assert "401" in plain["paths"][API]["post"]["responses"]
    assert "/metrics" in plain["paths"]
    legacy = description(open_api(sqlite_url, http_200=True, metrics=False, max_span_days=31))
    responses = legacy["paths"][API]["post"]["responses"]
    assert set(responses) == {"200"}
    json_answer = responses["200"]["content"]["application/json; charset=utf-8"]["schema"]
    assert {"$ref": "#/components/schemas/Error"} in json_answer["anyOf"]
    assert "/metrics" not in legacy["paths"]
    assert "at most 31 days" in legacy["paths"][API]["description"]


def test_a_multipart_body_without_its_boundary_is_refused(sqlite_api: ApiHarness) -> None:
    # Found by the property above: it was a 500.
    response = sqlite_api.client.post(
        API,
        content=b"goAction=agent_cdr",
        headers={"Content-Type": "multipart/form-data"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "result": "error",
        "code": "41004",
        "message": "Invalid value for body: the form cannot be read: "
        "Missing boundary in multipart.",
    }
