"""A small VICIdial database for the adapter's tests: the real tables (column names and types
of VICIdial's MySQL_AST_CREATE_tables.sql, schema 1728, as summarised in
shared/reference/vicidial.md §1; MyISAM and no charset clause, as the original) and
hand-made rows, awkward ones included.

Dialer wall-clock zone of the rows: America/New_York (EDT, UTC-4, in May; EST, UTC-5, in
January).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from agentcdr.store.sql.urls import mysql_connect_kwargs

# The columns vicidial_statuses and vicidial_campaign_statuses share.
_STATUS_FLAGS = """human_answered ENUM('Y','N') NOT NULL DEFAULT 'N',
category VARCHAR(20) DEFAULT 'UNDEFINED',
sale ENUM('Y','N') DEFAULT 'N',
dnc ENUM('Y','N') DEFAULT 'N',
customer_contact ENUM('Y','N') DEFAULT 'N',
not_interested ENUM('Y','N') DEFAULT 'N',
unworkable ENUM('Y','N') DEFAULT 'N',
scheduled_callback ENUM('Y','N') DEFAULT 'N',
completed ENUM('Y','N') DEFAULT 'N',
min_sec INT(5) UNSIGNED DEFAULT '0',
max_sec INT(5) UNSIGNED DEFAULT '0',
answering_machine ENUM('Y','N') DEFAULT 'N',"""

TABLES = [
    """CREATE TABLE vicidial_log (
uniqueid VARCHAR(20) PRIMARY KEY NOT NULL,
lead_id INT(9) UNSIGNED NOT NULL,
list_id BIGINT(14) UNSIGNED,
campaign_id VARCHAR(8),
call_date DATETIME,
start_epoch INT(10) UNSIGNED,
end_epoch INT(10) UNSIGNED,
length_in_sec INT(10),
status VARCHAR(6),
phone_code VARCHAR(10),
phone_number VARCHAR(18),
user VARCHAR(20),
comments VARCHAR(255),
processed ENUM('Y','N'),
user_group VARCHAR(20),
term_reason ENUM('CALLER','AGENT','QUEUETIMEOUT','ABANDON','AFTERHOURS','NONE','SYSTEM')
    DEFAULT 'NONE',
alt_dial VARCHAR(6) DEFAULT 'NONE',
called_count SMALLINT(5) UNSIGNED DEFAULT '0',
INDEX (lead_id),
INDEX (call_date)
) ENGINE=MyISAM""",
    """CREATE TABLE vicidial_closer_log (
closecallid INT(9) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
lead_id INT(9) UNSIGNED NOT NULL,
list_id BIGINT(14) UNSIGNED,
campaign_id VARCHAR(20),
call_date DATETIME,
start_epoch INT(10) UNSIGNED,
end_epoch INT(10) UNSIGNED,
length_in_sec INT(10),
status VARCHAR(6),
phone_code VARCHAR(10),
phone_number VARCHAR(18),
user VARCHAR(20),
comments VARCHAR(255),
processed ENUM('Y','N'),
queue_seconds DECIMAL(7,2) DEFAULT '0',
user_group VARCHAR(20),
xfercallid INT(9) UNSIGNED,
term_reason ENUM('CALLER','AGENT','QUEUETIMEOUT','ABANDON','AFTERHOURS','HOLDRECALLXFER',
    'HOLDTIME','NOAGENT','NONE','MAXCALLS','ACFILTER','CLOSETIME') DEFAULT 'NONE',
uniqueid VARCHAR(20) NOT NULL DEFAULT '',
agent_only VARCHAR(20) DEFAULT '',
queue_position SMALLINT(4) UNSIGNED DEFAULT '1',
called_count SMALLINT(5) UNSIGNED DEFAULT '0',
INDEX (lead_id),
INDEX (call_date),
INDEX (campaign_id),
INDEX (uniqueid),
INDEX phone_number (phone_number),
INDEX date_user (call_date, user)
) ENGINE=MyISAM""",
    """CREATE TABLE vicidial_agent_log (
agent_log_id INT(9) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
user VARCHAR(20),
server_ip VARCHAR(15) NOT NULL,
event_time DATETIME,
lead_id INT(9) UNSIGNED,
campaign_id VARCHAR(8),
pause_epoch INT(10) UNSIGNED,
pause_sec SMALLINT(5) UNSIGNED DEFAULT '0',
wait_epoch INT(10) UNSIGNED,
wait_sec SMALLINT(5) UNSIGNED DEFAULT '0',
talk_epoch INT(10) UNSIGNED,
talk_sec SMALLINT(5) UNSIGNED DEFAULT '0',
dispo_epoch INT(10) UNSIGNED,
dispo_sec SMALLINT(5) UNSIGNED DEFAULT '0',
status VARCHAR(6),
user_group VARCHAR(20),
comments VARCHAR(20),
sub_status VARCHAR(6),
dead_epoch INT(10) UNSIGNED,
dead_sec SMALLINT(5) UNSIGNED DEFAULT '0',
processed ENUM('Y','N') DEFAULT 'N',
uniqueid VARCHAR(20) DEFAULT '',
pause_type ENUM('UNDEFINED','SYSTEM','AGENT','API','ADMIN') DEFAULT 'UNDEFINED',
INDEX (lead_id),
INDEX (user),
INDEX (event_time),
INDEX time_user (event_time, user)
) ENGINE=MyISAM""",
    """CREATE TABLE vicidial_list (
lead_id INT(9) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
entry_date DATETIME,
modify_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
status VARCHAR(6),
user VARCHAR(20),
vendor_lead_code VARCHAR(20),
source_id VARCHAR(50),
list_id BIGINT(14) UNSIGNED NOT NULL DEFAULT '0',
gmt_offset_now DECIMAL(4,2) DEFAULT '0.00',
called_since_last_reset ENUM('Y','N','Y1','Y2','Y3','Y4','Y5','Y6','Y7','Y8','Y9','Y10','D')
    DEFAULT 'N',
phone_code VARCHAR(10),
phone_number VARCHAR(18) NOT NULL,
title VARCHAR(4),
first_name VARCHAR(30),
middle_initial VARCHAR(1),
last_name VARCHAR(30),
address1 VARCHAR(100),
address2 VARCHAR(100),
address3 VARCHAR(100),
city VARCHAR(50),
state VARCHAR(2),
province VARCHAR(50),
postal_code VARCHAR(10),
country_code VARCHAR(3),
gender ENUM('M','F','U') DEFAULT 'U',
date_of_birth DATE,
alt_phone VARCHAR(12),
email VARCHAR(70),
security_phrase VARCHAR(100),
comments VARCHAR(255),
called_count SMALLINT(5) UNSIGNED DEFAULT '0',
last_local_call_time DATETIME,
`rank` SMALLINT(5) NOT NULL DEFAULT '0',
owner VARCHAR(20) DEFAULT '',
entry_list_id BIGINT(14) UNSIGNED NOT NULL DEFAULT '0',
INDEX (phone_number),
INDEX (list_id),
INDEX (status),
INDEX (owner)
) ENGINE=MyISAM""",
    """CREATE TABLE vicidial_campaigns (
campaign_id VARCHAR(8) PRIMARY KEY NOT NULL,
campaign_name VARCHAR(40),
active ENUM('Y','N'),
dial_method ENUM('MANUAL','RATIO','ADAPT_HARD_LIMIT','ADAPT_TAPERED','ADAPT_AVERAGE',
    'INBOUND_MAN','SHARED_RATIO','SHARED_ADAPT_HARD_LIMIT','SHARED_ADAPT_TAPERED',
    'SHARED_ADAPT_AVERAGE') DEFAULT 'MANUAL',
auto_dial_level VARCHAR(6) DEFAULT '0',
closer_campaigns TEXT,
campaign_description VARCHAR(255),
campaign_changedate DATETIME,
campaign_allow_inbound ENUM('Y','N') DEFAULT 'N',
manual_dial_list_id BIGINT(14) UNSIGNED DEFAULT '998',
xfer_groups TEXT,
user_group VARCHAR(20) DEFAULT '---ALL---'
) ENGINE=MyISAM""",
    f"""CREATE TABLE vicidial_statuses (
status VARCHAR(6) PRIMARY KEY NOT NULL,
status_name VARCHAR(30),
selectable ENUM('Y','N'),
{_STATUS_FLAGS}
modify_stamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=MyISAM""",
    f"""CREATE TABLE vicidial_campaign_statuses (
status VARCHAR(6) NOT NULL,
status_name VARCHAR(30),
selectable ENUM('Y','N'),
campaign_id VARCHAR(20),
{_STATUS_FLAGS}
INDEX (campaign_id),
UNIQUE INDEX vicidial_campaign_statuses_key (status, campaign_id)
) ENGINE=MyISAM""",
    """CREATE TABLE vicidial_users (
user_id INT(9) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
user VARCHAR(20) NOT NULL,
pass VARCHAR(100) NOT NULL,
full_name VARCHAR(50),
user_level TINYINT(3) UNSIGNED DEFAULT '1',
user_group VARCHAR(20),
user_group_two VARCHAR(20) DEFAULT '',
active ENUM('Y','N') DEFAULT 'Y',
view_reports ENUM('0','1') DEFAULT '0',
vdc_agent_api_access ENUM('0','1') DEFAULT '0',
api_only_user ENUM('0','1') DEFAULT '0',
api_allowed_functions VARCHAR(1000) DEFAULT ' ALL_FUNCTIONS ',
api_list_restrict ENUM('1','0') DEFAULT '0',
admin_hide_lead_data ENUM('0','1') DEFAULT '0',
admin_hide_phone_data ENUM('0','1','2_DIGITS','3_DIGITS','4_DIGITS') DEFAULT '0',
failed_login_count TINYINT(3) UNSIGNED DEFAULT '0',
last_login_date DATETIME DEFAULT '2001-01-01 00:00:01',
last_ip VARCHAR(15) DEFAULT '',
pass_hash VARCHAR(500) DEFAULT '',
modify_users ENUM('0','1') DEFAULT '0',
modify_campaigns ENUM('0','1') DEFAULT '0',
UNIQUE INDEX user (user)
) ENGINE=MyISAM""",
    """CREATE TABLE vicidial_user_groups (
user_group VARCHAR(20) NOT NULL,
group_name VARCHAR(40) NOT NULL,
allowed_campaigns TEXT,
admin_viewable_groups TEXT,
allowed_reports VARCHAR(4000) DEFAULT 'ALL REPORTS',
api_ip_list VARCHAR(30) DEFAULT '',
agent_status_viewable_groups TEXT,
allowed_queue_groups TEXT,
modify_stamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=MyISAM""",
    """CREATE TABLE system_settings (
version VARCHAR(50),
db_schema_version INT(8) UNSIGNED DEFAULT '0',
use_non_latin ENUM('0','1') DEFAULT '0',
pass_hash_enabled ENUM('0','1') DEFAULT '0',
pass_key VARCHAR(100) DEFAULT '',
pass_cost TINYINT(2) UNSIGNED DEFAULT '2',
allow_ip_lists ENUM('0','1') DEFAULT '0'
) ENGINE=MyISAM""",
    # The archives are copies made with LIKE, as VICIdial's schema does.
    "CREATE TABLE vicidial_log_archive LIKE vicidial_log",
    "CREATE TABLE vicidial_closer_log_archive LIKE vicidial_closer_log",
    "CREATE TABLE vicidial_agent_log_archive LIKE vicidial_agent_log",
]

CAMPAIGNS = [
    # campaign_id, campaign_name, user_group (GoAutoDial-style 8-digit ids)
    ("10000001", "GALSERVERS", "T01"),
    ("10000002", "GALFRESHLEADS", "T01"),
    ("20000001", "CSCCOLLECTIONS", "T02"),
]
STATUSES = [
    ("SALE", "Sale Made"),
    ("NI", "Not Interested"),
    ("XFER", "Call Transferred"),
    ("A", "Answering Machine"),
    ("NA", "No Answer AutoDial"),
    ("DROP", "Agent Not Available"),
    ("INCALL", "Lead Being Called"),
]
CAMPAIGN_STATUSES = [
    # status, status_name, campaign_id
    ("VM", "VM / NML", "10000001"),
    ("SALE", "Sale - Fresh", "10000002"),  # overrides the system name for this campaign
    ("RDV", "Rendez-vous planifié", "20000001"),
]
LEADS = [
    # lead_id, vendor_lead_code, source_id, phone_number
    (101, "LN-0001", "SRC-101", "5551230001"),
    (102, "LN-0002", "SRC-102", "5551230002"),
    (103, "LN-0003", "SRC-103", "5551230003"),
    (104, "LN-0004", "SRC-104", "5551230004"),
    (105, None, "SRC-105", "5551230005"),
]

_LOG_COLUMNS = (
    "uniqueid, lead_id, list_id, campaign_id, call_date, start_epoch, end_epoch, length_in_sec, "
    "status, phone_code, phone_number, user, comments, processed, user_group, term_reason"
)


def _log(
    uniqueid: str,
    lead: int,
    campaign: str,
    call_date: str,
    length: int,
    status: str,
    phone: str,
    user: str,
    comments: str,
    term: str,
    ended: bool = True,
) -> tuple[Any, ...]:
    # start/end epochs are not read by the adapter; only end_epoch IS NULL matters.
    return (
        uniqueid, lead, 1001, campaign, call_date, 1747000000,
        1747000000 + length if ended else None, length, status, "1", phone, user, comments,
        "N", "AGENTS", term,
    )  # fmt: skip


OUTBOUND = [
    # The six calls agents handled on 2025-05-13 (dialer time):
    _log("1747159148.1001", 101, "10000001", "2025-05-13 14:59:08", 187, "VM", "5551230001",
         "Example.User1", "MANUAL", "AGENT"),
    _log("1747160000.1002", 102, "10000002", "2025-05-13 15:13:20", 95, "SALE", "5551230002",
         "agent2", "0.012", "CALLER"),
    # Same second as the one above; term_reason '' (a value outside the ENUM, as VICIdial's
    # AGI writes for CALLMENUXFER); a status only in vicidial_statuses; a non-ASCII user.
    _log("1747160000.1003", 103, "20000001", "2025-05-13 15:13:20", 42, "NI", "5551230003",
         "josé.núñez", "AUTO", ""),
    # The fronter's leg of a transferred call (the closer's leg is in vicidial_closer_log).
    _log("1747162000.1004", 104, "10000001", "2025-05-13 15:46:40", 60, "XFER", "5551230004",
         "agent2", "AUTO", "AGENT"),
    # A status code no table names; a lead without vendor_lead_code.
    _log("1747141200.1005", 105, "20000001", "2025-05-13 09:00:00", 30, "ZZTOP", "5551230005",
         "Example.User1", "MANUAL", "NONE"),
    # A lead that was deleted from vicidial_list; a remote agent's call.
    _log("1747137600.1006", 999, "10000001", "2025-05-13 08:00:00", 12, "A", "5551239999",
         "agent2", "REMOTE", "CALLER"),
    # Left out: no agent (VDAD, VDCL), calls in progress (INCALL, DISPO, end_epoch NULL).
    _log("1747148400.1007", 101, "10000001", "2025-05-13 11:00:00", 0, "NA", "5551230001",
         "VDAD", "0.020", "ABANDON"),
    _log("1747148401.1008", 102, "10000001", "2025-05-13 11:00:01", 5, "DROP", "5551230002",
         "VDCL", "AUTO", "ABANDON"),
    _log("1747148402.1009", 103, "10000001", "2025-05-13 11:00:02", 0, "INCALL", "5551230003",
         "agent2", "AUTO", "NONE", ended=False),
    _log("1747148403.1010", 104, "10000001", "2025-05-13 11:00:03", 0, "SALE", "5551230004",
         "agent2", "AUTO", "NONE", ended=False),
    _log("1747148404.1011", 105, "10000001", "2025-05-13 11:00:04", 20, "DISPO", "5551230005",
         "agent2", "MANUAL", "AGENT"),
    # The neighbouring days.
    _log("1747108799.1012", 101, "10000001", "2025-05-12 23:59:59", 10, "SALE", "5551230001",
         "agent2", "MANUAL", "AGENT"),
    _log("1747197000.1013", 102, "20000001", "2025-05-14 00:30:00", 70, "NI", "5551230002",
         "agent2", "AUTO", "CALLER"),
]  # fmt: skip
OUTBOUND_ARCHIVE = [
    _log("1746021600.2001", 101, "10000001", "2025-04-30 10:00:00", 33, "SALE", "5551230001",
         "agent2", "AUTO", "CALLER"),
    # Winter time (EST, UTC-5).
    _log("1736960400.2002", 102, "20000001", "2025-01-15 12:00:00", 48, "NI", "5551230002",
         "Example.User1", "MANUAL", "AGENT"),
    # Copied to the archive but not yet deleted from the live table: must appear once.
    _log("1747137600.1006", 999, "10000001", "2025-05-13 08:00:00", 12, "A", "5551239999",
         "agent2", "REMOTE", "CALLER"),
]  # fmt: skip

_CLOSER_COLUMNS = (
    "closecallid, lead_id, list_id, campaign_id, call_date, start_epoch, end_epoch, "
    "length_in_sec, status, phone_code, phone_number, user, comments, processed, "
    "queue_seconds, user_group, term_reason, uniqueid"
)
INBOUND = [
    # The closer's leg of the transferred call: 12.6 s in the queue, 300 s in all.
    (5001, 104, 1001, "INB_GAL", "2025-05-13 15:47:30", 1747165650, 1747165950, 300, "SALE",
     "1", "5551230004", "closer1", "AUTO", "N", 12.6, "CLOSERS", "CALLER", "1747162000.1004"),
    # Dropped before an agent took it.
    (5002, 101, 1001, "INB_GAL", "2025-05-13 10:00:00", 1747144800, 1747144830, 30, "DROP",
     "1", "5551230001", "VDCL", "", "N", 30.0, "", "ABANDON", "1747144800.3002"),
    # No agent-log row: the agent's campaign is unknown.
    (5003, 105, 1001, "INB_CSC", "2025-05-13 11:00:00", 1747148400, 1747148445, 45, "NI",
     "1", "5551230005", "agent2", "AUTO", "N", 0.0, "AGENTS", "AGENT", "1747148400.3003"),
]  # fmt: skip
INBOUND_ARCHIVE = [
    (4001, 103, 1001, "INB_CSC", "2025-04-30 11:00:00", 1746025200, 1746025290, 90, "RDV",
     "1", "5551230003", "closer1", "AUTO", "N", 5.25, "CLOSERS", "CALLER", "1746025200.4001"),
]  # fmt: skip
_AGENT_LOG_COLUMNS = (
    "agent_log_id, user, server_ip, event_time, lead_id, campaign_id, status, comments, uniqueid"
)
AGENT_LOG = [
    # Two rows for the closer's one call (the newest names the campaign): one CDR row only.
    (1, "closer1", "10.0.0.1", "2025-05-13 15:47:00", 104, "20000001", "SALE", "INBOUND",
     "1747162000.1004"),
    (2, "closer1", "10.0.0.1", "2025-05-13 15:47:40", 104, "10000002", "SALE", "INBOUND",
     "1747162000.1004"),
]  # fmt: skip
AGENT_LOG_ARCHIVE = [
    (3, "closer1", "10.0.0.1", "2025-04-30 11:00:05", 103, "20000001", "RDV", "INBOUND",
     "1746025200.4001"),
]  # fmt: skip

_USER_COLUMNS = "user, pass, full_name, user_level, user_group, active, view_reports, pass_hash"
USERS = [
    ("6666", "1234", "Admin", 9, "ADMIN", "Y", "1", ""),
    ("VDAD", "donotedit", "Outbound Auto Dial", 1, "ADMIN", "N", "0", ""),
    ("VDCL", "donotedit", "Inbound No Agent", 1, "ADMIN", "N", "0", ""),
    ("galmgr", "gal-pass", "Gál Manager", 8, "T01", "Y", "1", ""),
    ("cscmgr", "csc-pass", "CSC Manager", 7, "T02", "Y", "1", ""),
    ("super", "super-pass", "Supervisor", 8, "SUPERVISORS", "Y", "1", ""),
    ("lonely", "lonely-pass", "No campaigns", 8, "EMPTY", "Y", "1", ""),
    ("gone", "gone-pass", "Left the company", 9, "ADMIN", "N", "1", ""),
    ("agentlvl", "agent-pass", "Agent", 6, "ADMIN", "Y", "1", ""),
    ("noreport", "noreport-pass", "No reports", 8, "ADMIN", "Y", "0", ""),
]
USER_GROUPS = [
    ("ADMIN", "VICIDIAL ADMINISTRATORS", " -ALL-CAMPAIGNS- - -"),
    ("T01", "Tenant one", " 20000001 -"),
    ("T02", "Tenant two", " -"),
    ("SUPERVISORS", "Supervisors", " -ALL-CAMPAIGNS- - -"),
]


async def _run(url: str, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
    import asyncmy

    conn = await asyncmy.connect(**mysql_connect_kwargs(url), autocommit=True)
    try:
        async with conn.cursor() as cur:
            # VICIdial runs with a non-strict sql_mode (it writes '' into ENUMs).
            await cur.execute("SET SESSION sql_mode = ''")
            for sql, rows in statements:
                if rows:
                    await cur.executemany(sql, rows)
                else:
                    await cur.execute(sql)
    finally:
        conn.close()


def _insert(table: str, columns: str, rows: Sequence[Sequence[Any]]) -> tuple[str, Sequence[Any]]:
    marks = ", ".join(["%s"] * len(columns.split(",")))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows


def create_vicidial(url: str, *, pass_hash: tuple[str, int] | None = None) -> None:
    """Create and fill the VICIdial tables in the (empty) database of ``url``.

    ``pass_hash``: (pass_key, pass_cost) to turn system_settings.pass_hash_enabled on.
    """
    enabled, key, cost = ("1", *pass_hash) if pass_hash else ("0", "", 2)
    statements: list[tuple[str, Sequence[Any]]] = [(sql, ()) for sql in TABLES]
    statements += [
        _insert("vicidial_campaigns", "campaign_id, campaign_name, user_group", CAMPAIGNS),
        _insert("vicidial_statuses", "status, status_name", STATUSES),
        _insert(
            "vicidial_campaign_statuses", "status, status_name, campaign_id", CAMPAIGN_STATUSES
        ),
        _insert("vicidial_list", "lead_id, vendor_lead_code, source_id, phone_number", LEADS),
        _insert("vicidial_log", _LOG_COLUMNS, OUTBOUND),
        _insert("vicidial_log_archive", _LOG_COLUMNS, OUTBOUND_ARCHIVE),
        _insert("vicidial_closer_log", _CLOSER_COLUMNS, INBOUND),
        _insert("vicidial_closer_log_archive", _CLOSER_COLUMNS, INBOUND_ARCHIVE),
        _insert("vicidial_agent_log", _AGENT_LOG_COLUMNS, AGENT_LOG),
        _insert("vicidial_agent_log_archive", _AGENT_LOG_COLUMNS, AGENT_LOG_ARCHIVE),
        _insert("vicidial_users", _USER_COLUMNS, USERS),
        _insert("vicidial_user_groups", "user_group, group_name, allowed_campaigns", USER_GROUPS),
        _insert(
            "system_settings",
            "version, db_schema_version, pass_hash_enabled, pass_key, pass_cost",
            [("2.14b0.5", 1728, enabled, key, cost)],
        ),
    ]
    asyncio.run(_run(url, statements))


def execute(url: str, sql: str, rows: Sequence[Sequence[Any]] = ()) -> None:
    """Run one statement with a normal (writable) connection: test set-up only."""
    asyncio.run(_run(url, [(sql, rows)]))
