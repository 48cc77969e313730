"""The history of finished calls (docs/history.md): what a search may ask, where a page ends (an
opaque keyset cursor), and the facts of a finished call beyond its live shape (wait and talk time).

The query itself is calls/selectors.py's (`history`); the API reads its parameters into a
`HistorySearch` (calls/api/history.py).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime

from django.utils.dateparse import parse_datetime

from calls.models import Call
from phlo.addresses import address_key

# What a person types to find a number: digits, with the spaces, dashes, dots, brackets and +
# the pages show numbers with ("+1 415 555 0143").
NUMBER_TYPED = re.compile(r"[+\d\s().\-/]+")
MIN_NUMBER_DIGITS = 3
MAX_SEARCH_LENGTH = 100


class SearchRefused(ValueError):
    """A search the history cannot answer as asked; the text says what to change."""


@dataclass(frozen=True)
class HistorySearch:
    """A narrowing of the history; an empty one is every call the viewer may see."""

    number: str = ""  # the start of a member's address, in its comparison form (phlo/addresses.py)
    name: str = ""  # part of an agent's name or username
    agent_id: int | None = None
    since: datetime | None = None  # ended at or after
    until: datetime | None = None  # ended before
    outcome: str = ""  # a calls.vocabulary.HistoryOutcome
    disposition_id: int | None = None


EVERYTHING = HistorySearch()


def search_terms(text: str) -> dict[str, str]:
    """The `q` of a search: a number (its digits, or a SIP URI) or part of an agent's name."""
    text = " ".join(text.split())
    if not text:
        return {}
    if len(text) > MAX_SEARCH_LENGTH:
        raise SearchRefused(f"Search for at most {MAX_SEARCH_LENGTH} characters.")
    if NUMBER_TYPED.fullmatch(text):
        digits = re.sub(r"\D", "", text)
        if len(digits) < MIN_NUMBER_DIGITS:
            raise SearchRefused(f"Type at least {MIN_NUMBER_DIGITS} digits of a number, or part of a name.")
        return {"number": digits}
    if text.lower().startswith("sip:"):
        return {"number": address_key(text.lower())}
    return {"name": text}


@dataclass(frozen=True)
class Cursor:
    """Where a page of the history ended: the last call's end and id (the list's order)."""

    ended_at: datetime
    call_id: int

    @classmethod
    def after(cls, call: Call) -> Cursor:
        return cls(call.ended_at, call.pk)

    def encode(self) -> str:
        raw = json.dumps([self.ended_at.isoformat(), self.call_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """A cursor this API gave out; anything else is refused (SearchRefused)."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            ended, call_id = json.loads(raw)
            at = parse_datetime(ended) if isinstance(ended, str) else None
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            at, call_id = None, None
        if at is None or at.tzinfo is None or type(call_id) is not int or not 0 < call_id < 2**63:
            raise SearchRefused("This cursor is not one the history gave out; start again without it.")
        return cls(at, call_id)


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    return max(0, round((end - start).total_seconds())) if start and end else None


def history_facts(call: Call) -> dict:
    """What the history shows of a finished call beyond its live shape. The customer waited from
    joining the queue until an agent answered (or until they gave up); the talk is from the
    answer to the end."""
    return {
        "wait_seconds": _seconds(call.waiting_since, call.answered_at or call.ended_at),
        "talk_seconds": _seconds(call.answered_at, call.ended_at),
        "was_transferred": call.was_transferred,
        "missed_offers": call.missed_offers,
    }
