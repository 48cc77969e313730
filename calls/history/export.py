"""The history as CSV (docs/history.md, "Export"): one row per call, written a chunk at a time."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

from calls.core.vocabulary import MemberRole
from calls.history.search import history_facts
from calls.models import Call, Member
from conventions.times import iso

CSV_COLUMNS = [
    "call_id", "started_at", "ended_at", "customer", "agents", "outcome", "transferred", "missed_offers",
    "wait_seconds", "talk_seconds", "disposition", "notes", "phlo_id",
]
# A cell a spreadsheet would run as a formula (OWASP, "CSV Injection"); a plain +number is a number.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"\+?\d+")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


csv_cell = _cell  # every CSV the desk writes (the reports' too) writes its cells this one way


def csv_row(call: Call, members: list[Member]) -> list[str]:
    """`members` with their agents loaded (calls/core/reads.py: `history_in_chunks`)."""
    facts = history_facts(call)
    customers = dict.fromkeys(m.address for m in members if m.role == MemberRole.CUSTOMER)
    agents = dict.fromkeys(
        m.agent.display_name if m.agent else m.address
        for m in members if m.role in (MemberRole.AGENT, MemberRole.SUPERVISOR)
    )
    return [_cell(value) for value in (
        call.pk, iso(call.started_at), iso(call.ended_at), "; ".join(customers), "; ".join(agents), call.outcome,
        "yes" if call.was_transferred else "no", call.missed_offers, facts["wait_seconds"], facts["talk_seconds"],
        call.disposition.name if call.disposition else "", call.notes, call.phlo_app.phlo_id,
    )]


def csv_pieces(chunks: Iterable[list[tuple[Call, list[Member]]]]) -> Iterator[bytes]:
    """The header, then one piece of text per chunk of calls. UTF-8 with a byte order mark, so a
    spreadsheet opens names and notes in any script as they are."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    yield ("\ufeff" + out.getvalue()).encode()
    for chunk in chunks:
        out.seek(0)
        out.truncate()
        writer.writerows(csv_row(call, members) for call, members in chunk)
        yield out.getvalue().encode()
