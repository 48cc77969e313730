"""The history as CSV (docs/history.md, "Export"): one row per call, written a chunk at a time.

No spreadsheet reads a formula in it (docs/reliability.md; OWASP, "CSV Injection"). A cell that begins
with `=` `+` `-` `@` (or a tab or carriage return), or has one after a separator (`,` `;` tab, where
a spreadsheet of a locale that separates lists by `;` would split an unquoted cell), is written
quoted, with a leading `'`. What a spreadsheet may take for those characters counts too: their
full-width forms (U+FF1D for `=`, and the other compatibility forms NFKC folds), the minus sign
U+2212, and anything invisible in front (zero-width spaces and joiners, a byte order mark,
direction marks: format characters) or spaces. Every other cell with a separator, a quote or a
line break is quoted whole. `csv_line` is for every CSV the desk writes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

from calls.core.vocabulary import MemberRole
from calls.history.search import history_facts
from calls.models import Call, Member
from conventions.times import iso

CSV_COLUMNS = [
    "call_id", "started_at", "ended_at", "customer", "agents", "outcome", "transferred", "missed_offers",
    "wait_seconds", "talk_seconds", "disposition", "notes", "phlo_id",
]
_FORMULA = re.compile(r"(?:^|[,;\t])\s*[=+\-@\u2212]")  # in a cell folded by _as_a_spreadsheet_reads_it
_QUOTED = re.compile(r'[,;\t"\r\n]')


def _as_a_spreadsheet_reads_it(text: str) -> str:
    """Full-width and other compatibility forms folded (NFKC), invisible format characters dropped."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")


def reads_as_formula(text: str) -> bool:
    return text.startswith(("\t", "\r")) or bool(_FORMULA.search(_as_a_spreadsheet_reads_it(text)))


def csv_field(value) -> str:
    text = "" if value is None else str(value)
    if reads_as_formula(text):
        text = "'" + text
    elif not _QUOTED.search(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def csv_line(values: Iterable) -> str:
    """One CSV record (RFC 4180: comma-separated, CRLF-ended), every cell through `csv_field`."""
    return ",".join(map(csv_field, values)) + "\r\n"


def csv_row(call: Call, members: list[Member]) -> list:
    """`members` with their agents loaded (calls/core/reads.py: `history_in_chunks`)."""
    facts = history_facts(call)
    customers = dict.fromkeys(m.address for m in members if m.role == MemberRole.CUSTOMER)
    agents = dict.fromkeys(
        m.agent.display_name if m.agent else m.address
        for m in members if m.role in (MemberRole.AGENT, MemberRole.SUPERVISOR)
    )
    return [
        call.pk, iso(call.started_at), iso(call.ended_at), "; ".join(customers), "; ".join(agents), call.outcome,
        "yes" if call.was_transferred else "no", call.missed_offers, facts["wait_seconds"], facts["talk_seconds"],
        call.disposition.name if call.disposition else "", call.notes, call.phlo_app.phlo_id,
    ]


def csv_pieces(chunks: Iterable[list[tuple[Call, list[Member]]]]) -> Iterator[bytes]:
    """The header, then one piece of text per chunk of calls. UTF-8 with a byte order mark, so a
    spreadsheet opens names and notes in any script as they are."""
    yield ("\ufeff" + csv_line(CSV_COLUMNS)).encode()
    for chunk in chunks:
        yield "".join(csv_line(csv_row(call, members)) for call, members in chunk).encode()
