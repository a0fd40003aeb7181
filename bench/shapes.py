"""The benchmark's second data set: the same seeded calls in another shape.

Figures depend on the data's shape (issue 13): long text costs more to escape, quote and
send than short, non-ASCII letters take more bytes and other code paths, and many agents make
a one-agent report small. So every figure is measured on two data sets of 2M calls over 30
days: ``demo`` (``agentcdr demo --csv``: 500 agents, short ASCII dispositions) and ``wide``,
made here from the demo generator's calls (5,000 agents) with:

- agent names with non-ASCII letters (``José.Núñez4821``);
- long dispositions (60-95 characters) with ``/``, non-ASCII letters, and now and then a
  comma or a double quote, which CSV must quote;
- campaign names of 30-40 characters (portfolio code first, as VICIdial's are);
- durations three times as long, plus up to ten minutes (hours-long calls are common).

Each call keeps its instant, number and lead; its id is the natural key of its new values.
Deterministic: the same spec gives the same file, byte for byte.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from typing import Final, TextIO
from zoneinfo import ZoneInfo

from agentcdr.clock import ZoneClock
from agentcdr.demo import CSV_HEADER, DISPOSITIONS, generate
from agentcdr.records import CallRecord, natural_key
from agentcdr.render import format_duration

# Every demo disposition in the wide shape (at most 100 characters, the column's width).
LONG_DISPOSITIONS: Final = {
    "No Answer": "NA / Sin respuesta — pas de réponse / Keine Antwort (Mailbox voll)",
    "Busy": "B / Ocupado · línea ocupada / Besetzt / ligne occupée, réessayer plus tard",
    "VM / NML": "VM / NML — Buzón de voz, sin mensaje / Mailbox ohne Nachricht / répondeur",
    "VM / LM - Left Message": 'VM / LM — Mensaje dejado "devolver llamada" / Nachricht hinterlassen',
    "WRONG NUMBER": "WN / Número equivocado — le client n'est pas joignable à ce numéro",
    "Disconnected Number": "DC / Número desconectado / Anschluss gekündigt / numéro hors service",
    "Hung Up": "HU / Colgó al contestar — a raccroché / hat aufgelegt, kein Gespräch",
    "Dropped": "DROP / Llamada perdida por el marcador — appel perdu / Verbindung getrennt",
    "RPC": "RPC / Contacto con el titular — Kontakt mit dem Schuldner, Identität geprüft",
    "PTP - Promise To Pay": 'PTP / Promesa de pago "30 días" — promesse de paiement, Zahlungszusage',
    "Payment Taken": "PMT / Pago recibido por teléfono — paiement reçu / Zahlung eingegangen",
    "Refused To Pay": "RTP / Se niega a pagar — refuse de payer / verweigert Zahlung, Eskalation",
    "3RD - Third Party": "3RD / Tercero (familiar, vecino) — tiers / Dritte Person am Telefon",
    "Callback Scheduled": "CALLBK / Rellamada agendada — rappel planifié / Rückruf vereinbart",
    "Dispute": "DISP / Disputa del saldo — contestation du solde / Forderung bestritten",
    "DNC - Do Not Call": "DNC / No llamar — ne pas appeler / nicht anrufen (Widerspruch, §7 UWG)",
    "BK - Bankruptcy": "BK / Quiebra declarada — faillite / Insolvenzverfahren, Aktenzeichen",
    "Account Inquiry": "ACI / Consulta de cuenta, saldo y próximos vencimientos / Kontoauskunft",
    "Payoff Quote": "POQ / Cotización de liquidación — montant du solde / Ablösebetrag",
    "Transferred": "XFER / Transferida a supervisión — transféré / an Supervisor weitergeleitet",
}
CAMPAIGN_WORDS: Final = {
    "COLLECTIONS": "Cobranza Región Norte · Tramo 2",
    "SERVERS": "Atención Servicio Préstamos",
    "FRESHLEADS": "Nuevos Clientes Captación Q2",
    "RECOVERY": "Recuperación Cartera Vencida",
}
FIRST: Final = ("José", "Zoë", "Björn", "Ana", "Łukasz", "Chloé", "Jürgen", "Inès", "Çağan", "Ñuño")
LAST: Final = ("Núñez", "Müller", "Ødegård", "Šimek", "García", "Lefèvre", "Åström", "Dvořák")


def _agent(user: str) -> str:
    """A name with non-ASCII letters, as unique as the demo's (its number is kept)."""
    number = user.rstrip("0123456789")
    digits = user[len(number) :] or "0"
    seed = sum(map(ord, user))
    return f"{FIRST[seed % len(FIRST)]}.{LAST[seed // 7 % len(LAST)]}{digits}"


def calls(
    days: int, agents: int, calls_per_day: int, seed: int, end_day: date
) -> Iterator[CallRecord]:
    """The demo's calls (same arguments) in the wide shape, oldest first."""
    assert set(LONG_DISPOSITIONS) == set(DISPOSITIONS)
    names: dict[str, str] = {}
    for r in generate(days, agents, calls_per_day, seed, ZoneInfo("UTC"), end_day):
        user = names.get(r.user) or names.setdefault(r.user, _agent(r.user))
        campaign = f"{r.portfolio} {CAMPAIGN_WORDS[r.profile]}"
        lead = r.lead_id or 0
        seconds = r.call_duration_sec * 3 + lead % 600
        yield r._replace(
            call_id=natural_key(user, r.answer_ts, r.phone_number, r.lead_id, campaign),
            user=user,
            disposition=LONG_DISPOSITIONS[r.disposition],
            call_duration_sec=seconds,
            campaign_name=campaign,
        )


def write_csv(
    out: TextIO, days: int, agents: int, calls_per_day: int, seed: int, end_day: date
) -> int:
    """The wide calls as a CSV ``agentcdr import`` reads (in UTC); returns the row count."""
    local = ZoneClock(ZoneInfo("UTC")).text
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    count = 0
    for r in calls(days, agents, calls_per_day, seed, end_day):
        writer.writerow((
            r.user, local(r.answer_ts), r.disposition, r.phone_number, r.loan_number,
            r.call_type, format_duration(r.call_duration_sec),
            "" if r.lead_id is None else r.lead_id, r.term_reason, r.portfolio,
            r.campaign_name, r.call_id, r.profile,
        ))  # fmt: skip
        count += 1
    return count
