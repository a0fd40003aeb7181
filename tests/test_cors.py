"""CORS as a browser sees it: preflights, the allowed origins, credentials (the browser
itself is in tests/browser/test_cors.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentcdr.errors import ConfigError
from agentcdr.settings import Settings
from tests.conftest import API, USERS, ApiHarness
from tests.seed import seed

PAGE = "https://reports.example.com"
OTHER = "https://elsewhere.example"
DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}


def preflight(api: ApiHarness, origin: str, path: str = API):  # type: ignore[no-untyped-def]
    return api.client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-requested-with",
        },
    )


def cors_headers(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


ALLOWED = {
    "access-control-allow-methods": "GET, POST, HEAD",
    "access-control-allow-headers": "Authorization, Content-Type, X-Requested-With",
    "access-control-max-age": "3600",
}
EXPOSED = {"access-control-expose-headers": "X-Request-ID, Retry-After, Content-Disposition"}


@pytest.fixture
def opened(sqlite_url: str, open_api: Callable[..., ApiHarness]) -> Callable[..., ApiHarness]:
    seed(sqlite_url, users=USERS)
    return lambda **settings: open_api(sqlite_url, **settings)


def test_by_default_any_origin_without_credentials(opened: Callable[..., ApiHarness]) -> None:
    api = opened()
    answer = preflight(api, OTHER)
    assert answer.status_code == 204
    assert answer.content == b""
    assert cors_headers(answer) == {"access-control-allow-origin": "*", **ALLOWED}
    assert "vary" not in answer.headers
    report = api.client.post(API, data=api.params(**DAY), headers={"Origin": OTHER})
    assert report.status_code == 200
    assert cors_headers(report) == {"access-control-allow-origin": "*", **EXPOSED}
    # Errors too, so that a page can show what went wrong.
    refused = api.client.post(API, data=api.params(goPass="x"), headers={"Origin": OTHER})
    assert refused.status_code == 401
    assert cors_headers(refused) == {"access-control-allow-origin": "*", **EXPOSED}


def test_a_preflight_is_answered_on_any_path(opened: Callable[..., ApiHarness]) -> None:
    api = opened()
    for path in ("/healthz", "/nothing-here"):
        answer = preflight(api, OTHER, path)
        assert answer.status_code == 204
        assert cors_headers(answer)["access-control-allow-origin"] == "*"


def test_named_origins_get_credentials_and_others_nothing(
    opened: Callable[..., ApiHarness],
) -> None:
    api = opened(cors_origins=f"{PAGE}/, HTTPS://Reports.Example.com")
    answer = preflight(api, PAGE)
    assert answer.status_code == 204
    assert cors_headers(answer) == {
        "access-control-allow-origin": PAGE,
        "access-control-allow-credentials": "true",
        **ALLOWED,
    }
    assert answer.headers["vary"] == "Origin"
    refused = preflight(api, OTHER)
    assert refused.status_code == 204  # nothing failed on the server: the browser refuses
    assert cors_headers(refused) == {}
    report = api.client.post(API, data=api.params(**DAY), headers={"Origin": PAGE})
    assert cors_headers(report) == {
        "access-control-allow-origin": PAGE,
        "access-control-allow-credentials": "true",
        **EXPOSED,
    }
    assert report.headers["vary"] == "Accept-Encoding, Origin"
    other = api.client.post(API, data=api.params(**DAY), headers={"Origin": OTHER})
    assert other.status_code == 200  # served; the browser keeps it from the page
    assert cors_headers(other) == {}


def test_any_origin_and_some_with_credentials(opened: Callable[..., ApiHarness]) -> None:
    api = opened(cors_origins=f"*,{PAGE}")
    assert cors_headers(preflight(api, PAGE))["access-control-allow-credentials"] == "true"
    other = cors_headers(preflight(api, OTHER))
    assert other["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in other


def test_no_cross_origin_access_at_all(opened: Callable[..., ApiHarness]) -> None:
    api = opened(cors_origins="")
    assert cors_headers(preflight(api, PAGE)) == {}
    report = api.client.post(API, data=api.params(**DAY), headers={"Origin": PAGE})
    assert cors_headers(report) == {}
    # Without the middleware, a preflight is a plain OPTIONS of the endpoint.
    assert preflight(api, PAGE).headers["allow"] == "GET, POST, HEAD, OPTIONS"


@pytest.mark.parametrize(
    "value", ["reports.example.com", "ftp://reports.example.com", "https://x.example/path"]
)
def test_an_origin_must_be_an_origin(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.load({"cors_origins": value}, environ={})
    assert str(raised.value) == (
        "setting cors_origins (AGENTCDR_CORS_ORIGINS): expected * or origins like "
        f"https://reports.example.com, got {value!r}"
    )


def test_origins_are_normalised() -> None:
    settings = Settings.load({"cors_origins": " * , https://A.example:8443/ ,*"}, environ={})
    assert settings.cors_origins == "*,https://a.example:8443"
    assert settings.origins == ("*", "https://a.example:8443")
