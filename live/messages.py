"""The messages that travel over the channel layer, built once where a change is committed.

- `update`: a new state of one thing (a call, an agent) for an audience, its JSON encoded here,
  once, and written as it is into every socket's frame;
- `viewer_changed`: a person's rights changed (deactivated, made or unmade a supervisor): their
  sockets close or resync;
- `signed_out`: a person's credentials changed (a new password, API tokens revoked): their sockets
  close with "sign in again", since what opened them no longer holds.
"""

from __future__ import annotations

import json

from live.audience import EVERYONE, Audience


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def update(
    *, frame: str, field: str, key: str, payload: dict, audience: Audience = EVERYONE, version: int | None = None,
    final: bool = False, batch: tuple[str, str] | None = None,
) -> dict:
    """`{"type": frame, "seq": N, field: payload}` for each socket the audience admits. With a
    `version`, a copy not newer than one already sent for `key` is dropped; `final` (a call that
    ended) lets a process forget the key once sent. With `batch` (its plural frame and field), the
    changes of a tick are sent together, each key's newest only: `{"type": "agents.updated",
    "agents": […]}` (live/hub.py)."""
    message = {
        "type": "update",
        "frame": frame,
        "field": field,
        "key": key,
        "version": version,
        "final": final,
        "audience": audience.as_dict(),
        "json": dumps(payload),
    }
    if batch is not None:
        message["batch"] = list(batch)
    return message


def batched(changes: list[dict]) -> dict:
    """One message for several changes of a batch that share an audience: their payloads as one
    JSON list, under the batch's plural frame and field."""
    frame, field = changes[0]["batch"]
    return {
        "type": "update", "frame": frame, "field": field, "key": None, "version": None, "final": False,
        "audience": changes[0]["audience"], "json": "[" + ",".join(change["json"] for change in changes) + "]",
        "at": min(change.get("at", 0.0) for change in changes),
    }


def viewer_changed(*, user_id: int, active: bool, is_supervisor: bool) -> dict:
    return {"type": "viewer", "user_id": user_id, "active": active, "is_supervisor": is_supervisor}


def signed_out(*, user_id: int) -> dict:
    return {"type": "signed_out", "user_id": user_id}
