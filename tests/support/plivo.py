"""Building and sending Plivo callbacks the way Plivo does: parameters, nonce, V3 signature."""

from __future__ import annotations

import itertools
import json
import secrets
from urllib.parse import urlencode

from phlo.signatures import sign

_sequence = itertools.count(1)


def mpc_event(name: str, mpc_uuid: str, *, seq: int | None = None, **extra: str) -> dict[str, str]:
    params = {
        "EventName": name,
        "MPCUUID": mpc_uuid,
        "MPCName": f"mpc-{mpc_uuid}",
        "SequenceNumber": str(seq if seq is not None else next(_sequence)),
        "EventTimestamp": "2026-11-23 10:00:00.000000",
    }
    params.update({k: str(v) for k, v in extra.items()})
    return params


def participant(name: str, mpc_uuid: str, member_id: str, address: str, *, role: str = "Customer",
                direction: str = "inbound", seq: int | None = None, other: str = "+14155550000",
                **extra: str) -> dict[str, str]:
    """A participant event; the member's own address goes where Plivo puts it for that direction."""
    frm, to = (address, other) if direction == "inbound" else (other, address)
    return mpc_event(
        name, mpc_uuid, seq=seq, MemberID=member_id, ParticipantRole=role, ParticipantCallUUID=f"call-{member_id}",
        ParticipantCallFrom=frm, ParticipantCallTo=to, ParticipantCallDirection=direction, **extra,
    )


def signed_headers(*, auth_token: str, url: str, method: str, params: dict | None, nonce: str | None = None) -> dict:
    nonce = nonce or secrets.token_hex(8)
    signature = sign(auth_token=auth_token, url=url, method=method, params=params, nonce=nonce)
    return {"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": nonce}


def django_callback(client, app, params: dict, *, method: str = "POST", body: str = "form",
                    host: str = "testserver", sign_with: str | None = None, headers: dict | None = None):
    """Send a callback through Django's test client (sync `Client` or `AsyncClient` coroutine)."""
    path = f"/callbacks/plivo/{app.phlo_id}/"
    if method == "GET":
        query = urlencode(params)
        url = f"http://{host}{path}?{query}"
        signed = signed_headers(auth_token=sign_with or app.auth_token, url=url, method="GET", params=None)
        return client.get(f"{path}?{query}", headers={**signed, **(headers or {})})
    url = f"http://{host}{path}"
    signed = signed_headers(auth_token=sign_with or app.auth_token, url=url, method="POST", params=params)
    if body == "json":
        return client.post(path, data=json.dumps(params), content_type="application/json",
                           headers={**signed, **(headers or {})})
    return client.post(path, data=urlencode(params), content_type="application/x-www-form-urlencoded",
                       headers={**signed, **(headers or {})})
