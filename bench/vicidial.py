"""A VICIdial database of the benchmark's size, for the read-only adapter.

The same demo calls as the CSV (``agentcdr.demo.generate``, same arguments) become rows of
``vicidial_log`` (MyISAM, the dialer's own table layout), their leads rows of
``vicidial_list``, their campaigns rows of ``vicidial_campaigns`` under 8-digit ids, and their
dispositions status codes named in ``vicidial_statuses`` (and, for a few, per campaign in
``vicidial_campaign_statuses``, so both of the adapter's name lookups are exercised). Loaded
once with ``LOAD DATA LOCAL INFILE`` and reused; the adapter cannot load anything itself.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from agentcdr.demo import generate
from bench import shapes
from bench.data import Range
from bench.stores import (
    MY_HOST,
    Export,
    LoadResult,
    MariaDBStore,
    has_module,
    mariadb_export,
    run_command,
)

STATUS_CODES: Final = {
    "No Answer": "NA",
    "Busy": "B",
    "VM / NML": "AA",
    "VM / LM - Left Message": "AM",
    "WRONG NUMBER": "WN",
    "Disconnected Number": "DC",
    "Hung Up": "HU",
    "Dropped": "DROP",
    "RPC": "RPC",
    "PTP - Promise To Pay": "PTP",
    "Payment Taken": "PMT",
    "Refused To Pay": "RTP",
    "3RD - Third Party": "3RD",
    "Callback Scheduled": "CALLBK",
    "Dispute": "DISP",
    "DNC - Do Not Call": "DNC",
    "BK - Bankruptcy": "BK",
    "Account Inquiry": "ACI",
    "Payoff Quote": "POQ",
    "Transferred": "XFER",
}
# Named per campaign (vicidial_campaign_statuses) rather than system-wide.
CAMPAIGN_STATUSES: Final = ("PTP", "PMT", "RTP")

# The tables the adapter reads, as VICIdial creates them (columns the adapter does not read
# are kept where they make a row as wide as on a dialer).
TABLES: Final = (
    """CREATE TABLE vicidial_log (
uniqueid VARCHAR(20) PRIMARY KEY NOT NULL, lead_id INT(9) UNSIGNED NOT NULL,
list_id BIGINT(14) UNSIGNED, campaign_id VARCHAR(8), call_date DATETIME,
start_epoch INT(10) UNSIGNED, end_epoch INT(10) UNSIGNED, length_in_sec INT(10),
status VARCHAR(6), phone_code VARCHAR(10), phone_number VARCHAR(18), user VARCHAR(20),
comments VARCHAR(255), processed ENUM('Y','N'), user_group VARCHAR(20),
term_reason ENUM('CALLER','AGENT','QUEUETIMEOUT','ABANDON','AFTERHOURS','NONE','SYSTEM')
    DEFAULT 'NONE',
alt_dial VARCHAR(6) DEFAULT 'NONE', called_count SMALLINT(5) UNSIGNED DEFAULT '0',
INDEX (lead_id), INDEX (call_date)) ENGINE=MyISAM""",
    """CREATE TABLE vicidial_list (
lead_id INT(9) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL, entry_date DATETIME,
modify_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
status VARCHAR(6), user VARCHAR(20), vendor_lead_code VARCHAR(20), source_id VARCHAR(50),
list_id BIGINT(14) UNSIGNED NOT NULL DEFAULT '0', gmt_offset_now DECIMAL(4,2) DEFAULT '0.00',
phone_code VARCHAR(10), phone_number VARCHAR(18) NOT NULL, title VARCHAR(4),
first_name VARCHAR(30), middle_initial VARCHAR(1), last_name VARCHAR(30),
address1 VARCHAR(100), address2 VARCHAR(100), address3 VARCHAR(100), city VARCHAR(50),
state VARCHAR(2), province VARCHAR(50), postal_code VARCHAR(10), country_code VARCHAR(3),
alt_phone VARCHAR(12), email VARCHAR(70), security_phrase VARCHAR(100),
comments VARCHAR(255), called_count SMALLINT(5) UNSIGNED DEFAULT '0',
owner VARCHAR(20) DEFAULT '',
INDEX (phone_number), INDEX (list_id), INDEX (status), INDEX (owner)) ENGINE=MyISAM""",
    """CREATE TABLE vicidial_campaigns (
campaign_id VARCHAR(8) PRIMARY KEY NOT NULL, campaign_name VARCHAR(40), active ENUM('Y','N'),
dial_method VARCHAR(30) DEFAULT 'MANUAL', campaign_description VARCHAR(255),
user_group VARCHAR(20) DEFAULT '---ALL---') ENGINE=MyISAM""",
    """CREATE TABLE vicidial_statuses (
status VARCHAR(6) PRIMARY KEY NOT NULL, status_name VARCHAR(30), selectable ENUM('Y','N'),
human_answered ENUM('Y','N') NOT NULL DEFAULT 'N', category VARCHAR(20) DEFAULT 'UNDEFINED')
ENGINE=MyISAM""",
    """CREATE TABLE vicidial_campaign_statuses (
status VARCHAR(6) NOT NULL, status_name VARCHAR(30), selectable ENUM('Y','N'),
campaign_id VARCHAR(20), human_answered ENUM('Y','N') NOT NULL DEFAULT 'N',
category VARCHAR(20) DEFAULT 'UNDEFINED',
INDEX (campaign_id), UNIQUE INDEX vicidial_campaign_statuses_key (status, campaign_id))
ENGINE=MyISAM""",
)
_LOG_COLUMNS: Final = (
    "uniqueid, lead_id, list_id, campaign_id, call_date, start_epoch, end_epoch, length_in_sec, "
    "status, phone_code, phone_number, user, comments, processed, user_group, term_reason, "
    "alt_dial, called_count"
)
_LIST_COLUMNS: Final = (
    "lead_id, entry_date, status, user, vendor_lead_code, source_id, list_id, phone_code, "
    "phone_number, first_name, last_name, address1, city, state, postal_code, called_count"
)


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


class VicidialStore(MariaDBStore):
    name = "vicidial"
    title = "VICIdial adapter (MariaDB)"
    import_target = None  # read-only: loaded with LOAD DATA, not agentcdr import

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.database = self.database.replace("agentcdr_bench", "agentcdr_bench_vicidial")

    @property
    def url(self) -> str:
        return f"vicidial+mysql://root@127.0.0.1:3306/{self.database}"

    @property
    def users_url(self) -> str:
        return f"sqlite:///{(self.data_dir / f'{self.database}_users.db').resolve()}"

    def unavailable(self) -> str | None:
        if not has_module("agentcdr.store.vicidial.store"):
            return "the VICIdial adapter (agentcdr.store.vicidial.store) is not there"
        return super().unavailable()

    def reset(self, database: str = "") -> None:
        super().reset(database)
        Path(self.users_url.removeprefix("sqlite:///")).unlink(missing_ok=True)

    def count(self, database: str = "") -> int:
        try:
            sql = "SELECT COUNT(*) FROM vicidial_log"
            return int(self._sql(sql, database or self.database).strip())
        except RuntimeError:
            return -1

    def _cli_script(self, database: str) -> tuple[str, list[str], str]:
        return "", [], ""  # nothing to compare: agentcdr does not import into VICIdial's tables

    def load(self) -> LoadResult:
        """Writes the calls as tab-separated files and loads them (the TSV files are kept)."""
        self.reset()
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        started = time.perf_counter()
        files = self._write_files()
        written = time.perf_counter()
        self._sql("; ".join(TABLES), self.database)
        statements = [
            f"LOAD DATA LOCAL INFILE '{files[table]}' INTO TABLE {table} ({columns})"
            for table, columns in (
                ("vicidial_log", _LOG_COLUMNS),
                ("vicidial_list", _LIST_COLUMNS),
                ("vicidial_campaigns", "campaign_id, campaign_name, active, dial_method, "
                 "campaign_description, user_group"),
                ("vicidial_statuses", "status, status_name, selectable, human_answered, category"),
                ("vicidial_campaign_statuses",
                 "status, status_name, selectable, campaign_id, human_answered, category"),
            )
        ]  # fmt: skip
        run_command(
            [
                "mariadb",
                *MY_HOST,
                "--local-infile=1",
                "-D",
                self.database,
                "-e",
                "; ".join(statements),
            ]
        )
        seconds = time.perf_counter() - written
        return LoadResult(
            self.data.rows,
            seconds,
            0.0,
            "LOAD DATA (read-only adapter)",
            f"TSV files written in {written - started:.1f} s, loaded in {seconds:.1f} s",
            load,
        )

    def _write_files(self) -> dict[str, Path]:
        spec = self.data.spec
        folder = self.data_dir / f"{self.database}-tsv"
        folder.mkdir(parents=True, exist_ok=True)
        files = {
            t: (folder / f"{t}.tsv").resolve()
            for t in (
                "vicidial_log",
                "vicidial_list",
                "vicidial_campaigns",
                "vicidial_statuses",
                "vicidial_campaign_statuses",
            )
        }
        campaigns: dict[str, tuple[str, str]] = {}  # name -> (id, portfolio)
        leads: dict[int, tuple[str, str, int]] = {}  # lead -> (loan, phone, first ts)
        end_day = date.fromisoformat(spec.end_day)
        if spec.shape == "wide":
            records = shapes.calls(spec.days, spec.agents, spec.calls_per_day, spec.seed, end_day)
        else:
            records = generate(
                spec.days, spec.agents, spec.calls_per_day, spec.seed, ZoneInfo("UTC"), end_day
            )
        # Status codes of the data set's dispositions, and their names as VICIdial keeps
        # them (30 characters at most: the wide set's long ones are cut, on both sides).
        codes = {
            **STATUS_CODES,
            **{v: STATUS_CODES[k] for k, v in shapes.LONG_DISPOSITIONS.items()},
        }
        names = {
            code: name[:30]
            for name, code in codes.items()
            if (name in STATUS_CODES) != (spec.shape == "wide")
        }
        with files["vicidial_log"].open("w", encoding="utf-8") as out:
            lines: list[str] = []
            for n, r in enumerate(records, 1):
                campaign = campaigns.get(r.campaign_name)
                if campaign is None:
                    campaign = (str(10_000_001 + len(campaigns)), r.portfolio)
                    campaigns[r.campaign_name] = campaign
                lead = r.lead_id or 0
                if lead and lead not in leads:
                    leads[lead] = (r.loan_number, r.phone_number, r.answer_ts)
                call_date = datetime.fromtimestamp(r.answer_ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
                lines.append(
                    f"{r.answer_ts}.{n}\t{lead}\t1001\t{campaign[0]}\t{call_date}\t"
                    f"{r.answer_ts}\t{r.answer_ts + r.call_duration_sec}\t"
                    f"{r.call_duration_sec}\t{codes[r.disposition]}\t1\t"
                    f"{r.phone_number}\t{_text(r.user)}\t"
                    f"{'MANUAL' if r.call_type == 'MANUAL' else 'AUTO'}\tN\tAGENTS\t"
                    f"{r.term_reason}\tMAIN\t1\n"
                )
                if len(lines) == 10_000:
                    out.writelines(lines)
                    lines.clear()
            out.writelines(lines)
        with files["vicidial_list"].open("w", encoding="utf-8") as out:
            for lead, (loan, phone, ts) in leads.items():
                entry = datetime.fromtimestamp(ts - 86_400 * 90, UTC).strftime("%Y-%m-%d %H:%M:%S")
                out.write(
                    f"{lead}\t{entry}\tCALLBK\tVDAD\t{_text(loan) or chr(92) + 'N'}\t"
                    f"SRC-{lead}\t1001\t1\t{phone}\tFirst{lead % 997}\tLast{lead % 991}\t"
                    f"{lead % 9000 + 100} Main Street\tSpringfield\tIL\t{lead % 90000 + 10000}\t"
                    "1\n"
                )
        with files["vicidial_campaigns"].open("w", encoding="utf-8") as out:
            for name, (cid, portfolio) in sorted(campaigns.items()):
                out.write(f"{cid}\t{name}\tY\tRATIO\t{name} campaign\t{portfolio}\n")
        with files["vicidial_statuses"].open("w", encoding="utf-8") as out:
            for code, name in names.items():
                if code not in CAMPAIGN_STATUSES:
                    out.write(f"{code}\t{name}\tY\tY\tCONTACT\n")
        with files["vicidial_campaign_statuses"].open("w", encoding="utf-8") as out:
            for code, name in names.items():
                if code in CAMPAIGN_STATUSES:
                    for cid, _ in campaigns.values():
                        out.write(f"{code}\t{name}\tY\t{cid}\tY\tCONTACT\n")
        return files

    def exports(self, rng: Range) -> list[Export]:
        start = datetime.fromtimestamp(rng.start_ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
        end = datetime.fromtimestamp(rng.end_ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
        # The adapter's own query (agentcdr/store/vicidial/sql.py), columns as the API
        # renders them.
        sql = (
            "SELECT vl.user, vl.call_date, "
            "COALESCE(NULLIF(cs.status_name, ''), NULLIF(s.status_name, ''), vl.status, ''), "
            "COALESCE(vl.phone_number, ''), COALESCE(vi.vendor_lead_code, ''), "
            "IF(vl.comments = 'MANUAL', 'MANUAL', 'DIALER'), "
            "SEC_TO_TIME(COALESCE(vl.length_in_sec, 0)), IF(vl.lead_id = 0, '', vl.lead_id), "
            "COALESCE(vl.term_reason, ''), UPPER(LEFT(vc.campaign_name, 3)), "
            "COALESCE(vc.campaign_name, '') "
            "FROM vicidial_log vl "
            "LEFT JOIN vicidial_campaigns vc ON vc.campaign_id = vl.campaign_id "
            "LEFT JOIN vicidial_list vi ON vi.lead_id = vl.lead_id "
            "LEFT JOIN vicidial_campaign_statuses cs "
            "ON cs.status = vl.status AND cs.campaign_id = vl.campaign_id "
            "LEFT JOIN vicidial_statuses s ON s.status = vl.status "
            f"WHERE vl.call_date >= '{start}' AND vl.call_date < '{end}' "
            "AND vl.user NOT IN ('VDAD', 'VDCL', '') AND vl.end_epoch IS NOT NULL "
            "AND COALESCE(vl.status, '') NOT IN ('INCALL', 'QUEUE', 'DISPO') "
            "ORDER BY vl.call_date DESC, vl.uniqueid DESC"
        )
        return [Export("mariadb --batch --quick", mariadb_export(self.database, sql), "tsv", True)]
