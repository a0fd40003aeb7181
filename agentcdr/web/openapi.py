"""The OpenAPI 3.1 description of the endpoint as built, served at ``/openapi.json``.

Made from the code rather than written beside it: the parameter names and their list forms
come from ``params`` (``LIST_PARAMS``, ``SCALAR_PARAMS``), their allowed values from the same
tuples the checks use (actions, formats, fields, call types, group keys), the limits from the
settings, the row shapes from ``records.FIELDS`` and ``encoders.summary``, and the errors
from ``errors.BY_CODE`` (code, status and class). Only the sentences are written here; a
parameter without one fails the build of the description, and with it the tests.
"""

from __future__ import annotations

from typing import Any, Final

from agentcdr import __version__, params
from agentcdr.encoders import MEDIA_TYPES
from agentcdr.encoders.summary import METRICS
from agentcdr.errors import BY_CODE, TooManyRequests
from agentcdr.records import ALL_FIELDS, CALL_TYPES, COLUMN, FIELDS
from agentcdr.settings import Settings
from agentcdr.summary import GROUP_KEYS, MAX_GROUP_KEYS

Schema = dict[str, Any]

_LIST_HELP: Final = (
    " A list: repeated (`{n}=a&{n}=b`), with brackets (`{n}[]=a`, `{n}[0]=a`; in a form "
    "body), comma-separated (`{n}=a,b`) or any mix; blank items are dropped."
)
# The sentence of every parameter (its schema comes from the code, below).
_HELP: Final = {
    "goAction": "`agent_cdr`: the report; `agent_cdr_summary`: its summary (extension).",
    "goUser": "API user name (or HTTP Basic instead of goUser and goPass).",
    "goPass": "API user's password.",
    "responsetype": "Format of the answer, case-insensitive (`xlsx`: the report only).",
    "fromDate": "First day of the range, in the report time zone (inclusive).",
    "toDate": "Last day of the range, in the report time zone (inclusive).",
    "limit": "Rows per page (extension): with it the answer carries `next_cursor`.",
    "cursor": "The `next_cursor` of the previous page (extension).",
    "order": "Answer time order of the rows (extension).",
    "tz": "IANA time zone of the dates and answer times (extension).",
    "updatedSince": "Only calls inserted or changed since then, `YYYY-MM-DD HH:MM:SS` (extension).",
    "csvFormulas": "`neutralize`: CSV text cells that a spreadsheet would run as a formula "
    "start with `'` (extension).",
    "user": "Agent user names, case-insensitive.",
    "tenant": "3-character tenant codes, case-insensitive; within the user's scope.",
    "profile": "Profiles, case-insensitive.",
    "disposition": "Dispositions, case-insensitive (extension).",
    "call_type": "Call types, case-insensitive (extension).",
    "campaign_name": "Campaign names, case-insensitive (extension).",
    "phone_number": "Phone numbers, exact (extension).",
    "loan_number": "Loan numbers, exact (extension).",
    "fields": "Columns to return, in order (extension; the report only).",
    "groupBy": f"One to {MAX_GROUP_KEYS} keys to group by (the summary only; required there).",
}


def _parameter_schemas(settings: Settings) -> dict[str, Schema]:
    """The schema of one value of each parameter (a list parameter: of one item)."""
    return {
        "goAction": {"type": "string", "enum": list(params.ACTIONS)},
        "goUser": {"type": "string"},
        "goPass": {"type": "string", "format": "password"},
        "responsetype": {"type": "string", "enum": list(params.RESPONSE_TYPES)},
        "fromDate": {"type": "string", "format": "date"},
        "toDate": {"type": "string", "format": "date"},
        "limit": {"type": "integer", "minimum": 1, "maximum": params._LIMIT_MAX},
        "cursor": {"type": "string"},
        "order": {"type": "string", "enum": ["desc", "asc"], "default": "desc"},
        "tz": {"type": "string", "examples": [settings.tz]},
        "updatedSince": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"},
        "csvFormulas": {"type": "string", "enum": list(params.CSV_FORMULAS), "default": "keep"},
        "user": {"type": "string"},
        "tenant": {"type": "string", "pattern": "^[A-Za-z0-9]{3}(,[A-Za-z0-9]{3})*$"},
        "profile": {"type": "string"},
        "disposition": {"type": "string"},
        "call_type": {"type": "string", "enum": list(CALL_TYPES)},
        "campaign_name": {"type": "string"},
        "phone_number": {"type": "string"},
        "loan_number": {"type": "string"},
        "fields": {"type": "string", "enum": list(ALL_FIELDS)},
        "groupBy": {"type": "string", "enum": list(GROUP_KEYS)},
    }


def _names() -> list[str]:
    """Every parameter the endpoint reads, in the order of ``_HELP``."""
    names = params.SCALAR_PARAMS | params.LIST_PARAMS
    missing = sorted(names - set(_HELP))
    if missing:
        raise KeyError(f"the OpenAPI description has no sentence for {missing}")
    return [n for n in _HELP if n in names]


def _query(settings: Settings) -> list[Schema]:
    schemas = _parameter_schemas(settings)
    found: list[Schema] = []
    for name in _names():
        one = schemas[name]
        if name in params.LIST_PARAMS:
            many = {"type": "array", "items": one}
            text = _HELP[name] + _LIST_HELP.format(n=name)
            found.append(_param(name, many, text, explode=True))
            found.append(_param(name + "[]", many, f"`{name}` with brackets.", explode=True))
        else:
            found.append(_param(name, one, _HELP[name]))
    return found


def _param(name: str, schema: Schema, text: str, explode: bool = False) -> Schema:
    parameter: Schema = {"name": name, "in": "query", "description": text, "schema": schema}
    if explode:
        parameter.update(style="form", explode=True)
    return parameter


def _form(settings: Settings) -> Schema:
    """A form body (urlencoded or multipart): every list form, the indexed one included."""
    schemas = _parameter_schemas(settings)
    properties: dict[str, Schema] = {}
    patterns: dict[str, Schema] = {}
    for name in _names():
        one = {**schemas[name], "description": _HELP[name]}
        if name in params.LIST_PARAMS:
            many = {"type": "array", "items": schemas[name]}
            properties[name] = {**many, "description": one["description"]}
            properties[name + "[]"] = many
            patterns[rf"^{name}\[[0-9]+\]$"] = schemas[name]
        else:
            properties[name] = one
    return {"type": "object", "properties": properties, "patternProperties": patterns}


def _json_body(settings: Settings) -> Schema:
    schemas = _parameter_schemas(settings)
    properties: dict[str, Schema] = {}
    for name in _names():
        one = schemas[name]
        if name in params.LIST_PARAMS:
            properties[name] = {
                "description": _HELP[name] + " A string (comma-separated) or an array.",
                "anyOf": [one, {"type": "array", "items": one}],
            }
        else:
            properties[name] = {**one, "description": _HELP[name]}
    return {"type": "object", "properties": properties}


def _row() -> Schema:
    properties: dict[str, Schema] = {}
    for field in FIELDS:
        if field.numeric:
            kind: Any = ["integer", "null"] if COLUMN[field.column].nullable else "integer"
            properties[field.name] = {"type": kind}
        else:
            properties[field.name] = {"type": "string"}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _summary_row() -> Schema:
    properties: dict[str, Schema] = {k: {"type": "string"} for k in GROUP_KEYS}
    properties["hour"] = {"type": "integer", "minimum": 0, "maximum": 23}
    properties.update({m: {"type": "integer", "minimum": 0} for m in METRICS})
    return {
        "type": "object",
        "properties": properties,
        "required": list(METRICS),
        "additionalProperties": False,
    }


def _components(settings: Settings) -> Schema:
    header = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "field": {"type": "string"},
            "formatter": {"const": "html"},
        },
        "required": ["title", "field", "formatter"],
    }
    meta = {
        "type": "object",
        "properties": {
            "from": {"type": "string"},
            "to": {"type": "string"},
            "timezone": {"type": "string"},
            "order": {"enum": ["asc", "desc"]},
            "filters": {"type": "object"},
            "limit": {"type": "integer"},
            "row_count": {"type": "integer", "minimum": 0},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "group_by": {"type": "array", "items": {"enum": list(GROUP_KEYS)}},
            "totals": {"type": "object"},
        },
        "required": ["from", "to", "timezone", "filters", "row_count", "warnings"],
    }

    def success(row: str, cursor: bool) -> Schema:
        data: Schema = {
            "type": "object",
            "properties": {
                "rows": {"type": "array", "items": {"$ref": f"#/components/schemas/{row}"}},
                "headers": {"type": "array", "items": {"$ref": "#/components/schemas/Header"}},
                "meta": {"$ref": "#/components/schemas/Meta"},
            },
            "required": ["rows", "headers", "meta"],
        }
        if cursor:
            data["properties"]["next_cursor"] = {
                "type": ["string", "null"],
                "description": "With `limit`: the next page's cursor; null on the last page.",
            }
        return {
            "type": "object",
            "properties": {"result": {"const": "success"}, "data": data},
            "required": ["result", "data"],
        }

    return {
        "schemas": {
            "Row": _row(),
            "SummaryRow": _summary_row(),
            "Header": header,
            "Meta": meta,
            "Report": success("Row", cursor=True),
            "Summary": success("SummaryRow", cursor=False),
            "Error": {
                "type": "object",
                "properties": {
                    "result": {"const": "error"},
                    "code": {"enum": list(BY_CODE)},
                    "message": {"type": "string"},
                },
                "required": ["result", "code", "message"],
                "additionalProperties": False,
            },
        },
        "securitySchemes": {
            "basic": {
                "type": "http",
                "scheme": "basic",
                "description": "Instead of goUser and goPass (extension).",
            }
        },
    }


_TEXT: Final = {"type": "string"}
_REQUEST_ID: Final = {
    "description": "The request's id, also in the access log (and in a 10500 message).",
    "schema": {"type": "string"},
}


def _errors(settings: Settings) -> dict[str, Schema]:
    """One response per HTTP status of ``BY_CODE`` (with ``http_200``: all under 200)."""
    by_status: dict[int, list[str]] = {}
    for code, kind in BY_CODE.items():
        by_status.setdefault(kind.status, []).append(code)
    responses: dict[str, Schema] = {}
    for status, codes in sorted(by_status.items()):
        names = ", ".join(f"`{c}` ({BY_CODE[c].__name__})" for c in codes)
        error = {"$ref": "#/components/schemas/Error"}
        headers: dict[str, Schema] = {"X-Request-ID": _REQUEST_ID}
        if any(BY_CODE[c] is TooManyRequests for c in codes):
            headers["Retry-After"] = {"schema": {"type": "integer"}, "description": "Seconds."}
        responses[str(status)] = {
            "description": f"Error {names}: the error body, in XML when responsetype is xml.",
            "headers": headers,
            "content": {
                MEDIA_TYPES["json"]: {
                    "schema": {**error, "properties": {"code": {"enum": codes}}}
                    if not settings.http_200
                    else error
                },
                MEDIA_TYPES["xml"]: {"schema": _TEXT},
            },
        }
    return responses


def _report_responses(settings: Settings, *, body: bool = True) -> dict[str, Schema]:
    answers: Schema = {
        MEDIA_TYPES["json"]: {
            "schema": {
                "anyOf": [
                    {"$ref": "#/components/schemas/Report"},
                    {"$ref": "#/components/schemas/Summary"},
                    *([{"$ref": "#/components/schemas/Error"}] if settings.http_200 else []),
                ]
            }
        },
        MEDIA_TYPES["xml"]: {"schema": _TEXT, "description": "The GoAutoDial element tree."},
        MEDIA_TYPES["csv"]: {"schema": _TEXT},
        MEDIA_TYPES["ndjson"]: {"schema": _TEXT, "description": "One row object a line."},
        MEDIA_TYPES["xlsx"]: {
            "schema": {"type": "string", "contentMediaType": MEDIA_TYPES["xlsx"]}
        },
    }
    ok: Schema = {
        "description": "The report (or summary) in the requested format.",
        "headers": {
            "X-Request-ID": _REQUEST_ID,
            "Content-Disposition": {
                "description": "csv, ndjson and xlsx: attachment with a file name.",
                "schema": {"type": "string"},
            },
        },
    }
    if body:
        ok["content"] = answers
    errors = _errors(settings)
    if settings.http_200:
        return {"200": ok}
    if not body:
        errors = {k: {x: y for x, y in v.items() if x != "content"} for k, v in errors.items()}
    return {"200": ok, **{k: v for k, v in errors.items() if k != "405"}}


def describe(settings: Settings, api_path: str) -> Schema:
    """The description, for the deployment's settings (limits, time zone, ``http_200``)."""
    form = _form(settings)
    bodies = {
        "application/x-www-form-urlencoded": {"schema": form},
        "multipart/form-data": {"schema": form},
        "application/json": {"schema": _json_body(settings)},
    }
    security: list[Schema] = [{}, {"basic": []}]
    not_allowed = {
        "405" if not settings.http_200 else "200": {
            **_errors(settings)["405"],
            "headers": {
                "Allow": {"schema": {"const": "GET, POST, HEAD, OPTIONS"}},
                "X-Request-ID": _REQUEST_ID,
            },
        }
    }
    endpoint: Schema = {
        "summary": "The agent_cdr report (and its summary)",
        "description": (
            "Parameters in the query (GET, HEAD) or in a form or JSON body (POST; a name in "
            f"both: the body wins). Dates span at most {settings.max_span_days} days; the "
            f"default time zone is {settings.tz}. Checks run in order: method, goAction, "
            "responsetype, credentials, tenant scope, the other parameters."
        ),
        "get": {
            "operationId": "report",
            "parameters": _query(settings),
            "security": security,
            "responses": _report_responses(settings),
        },
        "post": {
            "operationId": "reportPost",
            "requestBody": {"content": bodies},
            "security": security,
            "responses": _report_responses(settings),
        },
        "head": {
            "operationId": "reportHead",
            "description": "As GET, without the body.",
            "parameters": _query(settings),
            "security": security,
            "responses": _report_responses(settings, body=False),
        },
        "options": {
            "operationId": "reportOptions",
            "description": "The methods served (a browser's CORS preflight is answered too).",
            "responses": {
                "204": {
                    "description": "No body.",
                    "headers": {"Allow": {"schema": {"const": "GET, POST, HEAD, OPTIONS"}}},
                }
            },
        },
        **{
            method: {"operationId": f"report{method.title()}", "responses": not_allowed}
            for method in ("put", "patch", "delete")
        },
    }
    status = {
        "type": "object",
        "properties": {"status": {"enum": ["ok", "unavailable"]}},
        "required": ["status"],
    }
    paths: Schema = {
        api_path: endpoint,
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness: the process answers (asks no database)",
                "responses": {"200": {"description": "Alive.", "content": _json(status)}},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: the database answers",
                "responses": {
                    "200": {"description": "Ready.", "content": _json(status)},
                    "503": {
                        "description": "The database does not answer.",
                        "content": _json(status),
                    },
                },
            }
        },
    }
    if settings.metrics:
        paths["/metrics"] = {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics (text format, or OpenMetrics when asked)",
                "responses": {
                    "200": {
                        "description": "The metrics.",
                        "content": {
                            "text/plain": {"schema": _TEXT},
                            "application/openmetrics-text": {"schema": _TEXT},
                        },
                    }
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "agentcdr: the agent_cdr reporting API",
            "version": __version__,
            "description": "A wire-compatible GoAutoDial goAPIv2 agent_cdr endpoint. The "
            "error codes are those of docs/api.md; answers are compressed (gzip, zstd) when "
            "asked for with Accept-Encoding.",
        },
        "paths": paths,
        "components": _components(settings),
    }


def _json(schema: Schema) -> Schema:
    return {MEDIA_TYPES["json"]: {"schema": schema}}
