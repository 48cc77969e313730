"""Plivo's failures in sentences for the person who clicked.

Plivo answers a refused request with a status and a short technical text ("+14155550102 is busy
in another multiparty call of this node"). The person gets a sentence that says what happened and
what to do ("Bob Chen is on another call; nothing was changed."); the raw text stays in the
response's `error`, the Action row and the log (calls/actions/flow.py). One home for these sentences.
"""

from __future__ import annotations

import re

from phlo.http import PlivoError, PlivoTimeout, PlivoUnreachable

# Plivo's 400 texts for an action that does not fit the call (the simulator's, in simulator/model.py
# and simulator/switchboard.py, follow them), and what a person reads instead. {who} is the
# person the action was about.
REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), sentence)
    for pattern, sentence in (
        (r"busy in another multiparty call", "{who} is on another call; pick someone who is available."),
        (r"already a member of this multiparty call", "{who} is already on this call."),
        (r"multiparty call has ended", "The call has already ended."),
        (r"is not on hold", "{who} is not on hold any more."),
        (r"only a connected member can be held", "{who} is not connected, so cannot be put on hold."),
        (r"has not answered", "{who} has not answered yet; try again once they are on the line."),
        (r"hearing a voicemail drop", "{who} is hearing the voicemail message and is about to leave."),
        (r"warm transfer is already in progress", "A warm transfer is in progress; complete or abort it first."),
        (r"no warm transfer is in progress", "The warm transfer is already over."),
        (r"not (?:an agent on|a member of) this multiparty call|not found in any live", "{who} has left the call."),
        (r"no other member on the call", "There is nobody else on the call to transfer."),
    )
)

UNCHANGED = "nothing was changed."


def sentence_for(exc: PlivoError, *, who: str) -> str:
    """What to tell the person about `exc`; `who` names the member or target the action was about."""
    if isinstance(exc, PlivoTimeout):
        return f"{exc}; the action may or may not have happened. Check the call before trying again."
    if isinstance(exc, PlivoUnreachable):
        return f"{exc}; {UNCHANGED}"
    status = exc.status or 0
    said = exc.error or ""
    if status == 401:
        return (
            f"{exc.upstream} refused the desk's credentials (HTTP 401); {UNCHANGED} "
            "An operator should check the PHLO app's auth ID and token in the admin."
        )
    if status >= 500:
        return f"{exc.upstream} had a problem (HTTP {status}) and did not act; {UNCHANGED} Try again in a moment."
    for pattern, words in REFUSALS:
        if pattern.search(said):
            return f"{words.format(who=who)} Nothing was changed."
    if status == 404:
        return f"{exc.upstream} no longer knows this call or {who} (HTTP 404); {UNCHANGED}"
    return f"{exc.upstream} refused the request (HTTP {status}); {UNCHANGED}"
