"""The real server process over a real socket: the documented curl commands, as written."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import USERS
from tests.livserver import AGENTCDR, serve
from tests.seed import PASSWORD, seed

pytestmark = pytest.mark.socket

# From the API document, with only the host, the user and the password changed, and the
# trailing blanks after its line-continuation backslashes removed (with them, a shell passes
# a lone space as an argument).
GET_EXAMPLE = (
    'curl -s -X GET "{base}/goAPIv2/goReports/goAPI.php?goAction=agent_cdr&goUser=admin'
    "&goPass={password}&responsetype=json&profile[]=COLLECTIONS&tenant[]=CSC"
    '&fromDate=2025-05-13&toDate=2025-05-13"'
)
POST_EXAMPLE = """curl -s -X POST "{base}/goAPIv2/goReports/goAPI.php" \\
-H "Content-Type: application/x-www-form-urlencoded" \\
--data-urlencode "goAction=agent_cdr" \\
--data-urlencode "goUser=admin" \\
--data-urlencode "goPass={password}" \\
--data-urlencode "responsetype=json" \\
--data-urlencode "profile[]=COLLECTIONS" \\
--data-urlencode "tenant[]=CSC" \\
--data-urlencode "fromDate=2025-05-13" \\
--data-urlencode "toDate=2025-05-13"
"""


@pytest.fixture
def seeded(sqlite_url: str) -> str:
    seed(sqlite_url, users=USERS)
    return sqlite_url


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_documented_curl_commands(seeded: str, tmp_path: Path) -> None:
    with serve(seeded, tmp_path) as base:
        for template, password in (
            (GET_EXAMPLE, PASSWORD.replace(" ", "%20")),
            (POST_EXAMPLE, PASSWORD),
        ):
            command = template.format(base=base, password=password)
            out = subprocess.run(["bash", "-c", command], capture_output=True, check=True)
            body = orjson.loads(out.stdout)
            assert body["result"] == "success"
            assert [
                (r["user"], r["answer_time"], r["call_duration"]) for r in body["data"]["rows"]
            ] == [
                ("example.user3", "2025-05-13 10:15:00", "25:00:07"),
                ("Example.User3", "2025-05-13 10:15:00", "00:05:12"),
            ]
    log = (tmp_path / "access.log").read_text()
    assert PASSWORD not in log
    assert PASSWORD.replace(" ", "%20") not in log
    assert "goPass=***" in log


def test_several_workers_serve_one_database(store_url: str, tmp_path: Path) -> None:
    seed(store_url, users=USERS)
    with serve(store_url, tmp_path, "--workers", "2") as base, httpx.Client() as client:
        for _ in range(6):
            response = client.post(
                f"{base}/goAPIv2/goReports/goAPI.php",
                data={
                    "goAction": "agent_cdr",
                    "goUser": "galonly",
                    "goPass": PASSWORD,
                    "responsetype": "csv",
                    "fromDate": "2025-05-13",
                    "toDate": "2025-05-13",
                },
            )
            assert response.status_code == 200
            assert response.text.count("\r\n") == 3  # header row and the two GAL calls


def test_bad_setting_fails_at_start_naming_the_key(seeded: str) -> None:
    out = subprocess.run(
        [*AGENTCDR, "--db", seeded, "serve"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "AGENTCDR_WORKERS": "zero"},
    )
    assert out.returncode == 1
    assert out.stderr == (
        "agentcdr: error: setting workers (AGENTCDR_WORKERS): expected a whole number, got 'zero'\n"
    )


def test_an_excel_report_over_a_real_server_is_a_workbook(seeded: str, tmp_path: Path) -> None:
    """granian sends a file response by its path after the app returns: the workbook must
    still be there then (it was removed first, and the answer was 404 Not found)."""
    import openpyxl

    with serve(seeded, tmp_path) as base:
        response = httpx.post(
            f"{base}/goAPIv2/goReports/goAPI.php",
            data={
                "goAction": "agent_cdr",
                "goUser": "admin",
                "goPass": PASSWORD,
                "responsetype": "xlsx",
                "fromDate": "2025-05-13",
                "toDate": "2025-05-13",
            },
        )
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    (tmp_path / "report.xlsx").write_bytes(response.content)
    sheet = openpyxl.load_workbook(tmp_path / "report.xlsx").active
    assert sheet is not None
    assert sheet.max_row == 7  # the header row and the day's six calls
