"""Form bodies through a real Daphne are parsed once, by the desk (fastpath/daphne_request.py):
a multipart callback is applied; one that cannot be parsed gets the desk's own answer and log line,
not Twisted's empty 400."""

import json
import sqlite3

import httpx

from tests.support.plivo import participant, signed_headers
from tests.support.servers import running_stack

TOKEN = "bodies-token"


def test_form_bodies_are_the_desks_to_parse_and_answer(tmp_path):
    with running_stack(tmp_path) as stack:
        stack.manage("configure_phlo", "--name", "Bodies", "--phlo-id", "phlo-bodies", "--node-id", "n1",
                     "--auth-id", "MA1", "--auth-token", TOKEN)
        daphne = stack.start_daphne()
        url = daphne.callback_url("phlo-bodies")

        # Signed, as multipart form fields: applied.
        params = participant("ParticipantJoin", "mpc-bodies", "m1", "+12025550111", seq=1)
        signed = signed_headers(auth_token=TOKEN, url=url, method="POST", params=params)
        applied = httpx.post(url, files={name: (None, value) for name, value in params.items()}, headers=signed,
                             timeout=30)

        # Multipart without a boundary: before, Twisted answered this itself (400, no body, no log line).
        broken = httpx.post(url, content=b"nonsense", headers={"Content-Type": "multipart/form-data"},
                            timeout=30)
        log = daphne.log()

    assert applied.status_code == 200, applied.text
    assert applied.json()["outcome"] == "applied"
    assert broken.status_code == 400
    assert broken.headers["content-type"] == "application/json"
    assert json.loads(broken.text) == {"detail": "The form body cannot be parsed."}
    assert "outcome=not a callback status=400" in log and "The form body cannot be parsed." in log
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    assert db.execute("select count(*) from calls_callevent").fetchone() == (1,)
