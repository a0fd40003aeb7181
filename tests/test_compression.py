"""Compressed answers for clients that ask (Accept-Encoding), chunk by chunk for streams."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import httpx
import pytest

from agentcdr.web.compression import negotiate, zstd
from tests.asgi import Exchange, exchange, make_app, run
from tests.conftest import API, USERS, ApiHarness
from tests.seed import PASSWORD, seed

DAY = {"fromDate": "2025-05-13", "toDate": "2025-05-13"}


def form(**extra: object) -> dict[str, object]:
    return {
        "goAction": "agent_cdr",
        "goUser": "admin",
        "goPass": PASSWORD,
        "responsetype": "json",
        **DAY,
        **extra,
    }


def decompress(coding: str, body: bytes) -> bytes:
    if coding == "gzip":
        return gzip.decompress(body)
    return bytes(zstd.decompress(body))


@pytest.mark.parametrize(
    ("header", "coding", "identity_refused"),
    [
        (None, None, False),
        ("", None, False),
        ("gzip", "gzip", False),
        ("gzip, deflate", "gzip", False),
        ("x-gzip", "gzip", False),
        ("gzip, deflate, br, zstd", "zstd", False),  # browsers: the cheaper one
        ("zstd;q=0.5, gzip", "gzip", False),
        ("gzip;q=0, zstd;q=0.1", "zstd", False),
        ("GZIP;Q=0.8", "gzip", False),
        ("br", None, False),
        ("deflate", None, False),
        ("*", "zstd", False),
        ("*;q=0.5, zstd;q=0", "gzip", False),
        ("identity", None, False),
        ("identity;q=0", None, True),
        ("gzip, identity;q=0", "gzip", True),
        ("*;q=0", None, True),
        ("*;q=0, identity", None, False),
        ("gzip;q=nonsense", None, False),
        (" , gzip ;q=1.0 ,", "gzip", False),
    ],
)
def test_the_coding_follows_the_weights(
    header: str | None, coding: str | None, identity_refused: bool
) -> None:
    assert negotiate(header) == (coding, identity_refused)


@pytest.fixture
def seeded(sqlite_url: str) -> str:
    seed(sqlite_url, users=USERS)
    return sqlite_url


def pair(
    url: str, tmp_path: Path, coding: str, chunk_rows: int = 1000, **extra: object
) -> tuple[Exchange, Exchange]:
    """The same request without and with ``Accept-Encoding: coding``."""
    app = make_app(url, tmp_path, chunk_rows=chunk_rows)

    async def both() -> tuple[Exchange, Exchange]:
        plain = await exchange(app, "POST", API, form=form(**extra))
        packed = await exchange(
            app, "POST", API, form=form(**extra), headers={"Accept-Encoding": coding}
        )
        return plain, packed

    result: tuple[Exchange, Exchange] = run(app, both)
    return result


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "ndjson"])
def test_a_streamed_report_is_compressed_chunk_by_chunk(
    seeded: str, tmp_path: Path, coding: str, fmt: str
) -> None:
    # One row a chunk: the six rows of the day stream in several pieces (a page, so that
    # rows come batch by batch; a whole report comes in slices of text).
    plain, packed = pair(seeded, tmp_path, coding, chunk_rows=1, responsetype=fmt, limit="100")
    assert plain.status == packed.status == 200
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    assert packed.headers["content-encoding"] == coding
    assert packed.headers["vary"] == "Accept-Encoding"
    assert "content-length" not in packed.headers
    # Every piece goes out as it comes, compressed on its own (flushed): nothing is held
    # back; the end of the stream carries the coding's end (gzip's trailer).
    assert len(plain.chunks) >= 6
    assert len(packed.chunks) == len(plain.chunks) + 1
    assert decompress(coding, packed.body) == plain.body
    if coding == "gzip":  # each piece is readable on its own, as a client reads the stream
        reader = zlib.decompressobj(16 + zlib.MAX_WBITS)
        readable = b"".join(reader.decompress(chunk) for chunk in packed.chunks[:-1])
        assert plain.body.startswith(readable)
        assert len(readable) > len(plain.chunks[0])


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
def test_a_one_piece_report_is_compressed_whole_with_its_length(
    seeded: str, tmp_path: Path, coding: str
) -> None:
    plain, packed = pair(seeded, tmp_path, coding)
    assert len(packed.chunks) == len(plain.chunks) == 1
    assert packed.headers["content-encoding"] == coding
    assert packed.headers["content-length"] == str(len(packed.body))
    assert plain.headers["content-length"] == str(len(plain.body))
    assert len(packed.body) < len(plain.body)
    assert decompress(coding, packed.body) == plain.body


def test_a_small_answer_stays_as_it_is_unless_identity_is_refused(
    seeded: str, tmp_path: Path
) -> None:
    app = make_app(seeded, tmp_path)
    error = form(goPass="wrong")  # a 60-byte error body

    async def answers() -> list[Exchange]:
        return [
            await exchange(app, "POST", API, form=error, headers={"Accept-Encoding": "gzip"}),
            await exchange(
                app, "POST", API, form=error, headers={"Accept-Encoding": "gzip, identity;q=0"}
            ),
        ]

    small, forced = run(app, answers)
    assert small.status == forced.status == 401
    assert "content-encoding" not in small.headers
    assert small.headers["vary"] == "Accept-Encoding"
    assert forced.headers["content-encoding"] == "gzip"
    assert gzip.decompress(forced.body) == small.body


def test_excel_is_never_compressed_again(seeded: str, tmp_path: Path) -> None:
    _, packed = pair(seeded, tmp_path, "gzip, zstd", responsetype="xlsx")
    assert packed.status == 200
    assert "content-encoding" not in packed.headers
    assert "vary" not in packed.headers
    assert packed.body[:2] == b"PK"
    assert packed.headers["content-length"] == str(len(packed.body))


def test_files_are_compressed_with_a_weak_etag(seeded: str, tmp_path: Path) -> None:
    app = make_app(seeded, tmp_path)

    async def both() -> tuple[Exchange, Exchange]:
        return (
            await exchange(app, "GET", "/static/report.js"),
            await exchange(app, "GET", "/static/report.js", headers={"Accept-Encoding": "gzip"}),
        )

    plain, packed = run(app, both)
    assert plain.headers["etag"].startswith('"')
    assert packed.headers["etag"] == "W/" + plain.headers["etag"]
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed.body) == plain.body
    assert plain.body == (Path("agentcdr/web/static/report.js")).read_bytes()


def test_clients_decompress_what_they_asked_for(sqlite_api: ApiHarness) -> None:
    # httpx (and with it agentcdr's client) asks for gzip by default and reads it back.
    response = sqlite_api.post(**DAY)
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()["data"]["rows"]) == 6
    plain = sqlite_api.client.post(
        API, data=sqlite_api.params(**DAY), headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert plain.json()["data"]["rows"] == response.json()["data"]["rows"]
    assert isinstance(response, httpx.Response)
