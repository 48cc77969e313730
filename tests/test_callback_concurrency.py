"""200 concurrent signed callbacks for one call against a real Daphne: all answered, all applied once."""

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from random import Random
from urllib.parse import urlencode

import httpx
import pytest

from tests.support.plivo import participant, signed_headers
from tests.support.servers import running_stack

pytestmark = pytest.mark.slow

TOKEN = "concurrency-token"
MEMBERS = 100


def test_two_hundred_concurrent_callbacks_for_one_call(tmp_path):
    with running_stack(tmp_path) as stack:
        stack.manage("configure_phlo", "--name", "Load", "--phlo-id", "phlo-load", "--node-id", "n1",
                     "--auth-id", "MA1", "--auth-token", TOKEN)
        daphne = stack.start_daphne()
        url = daphne.callback_url("phlo-load")
        callbacks = []
        for i in range(MEMBERS):
            address = f"+1202555{i:04d}"
            callbacks.append(participant("ParticipantJoin", "mpc-load", f"m{i}", address, seq=1 + i))
            callbacks.append(participant("ParticipantExit", "mpc-load", f"m{i}", address, seq=1 + MEMBERS + i))
        Random(7).shuffle(callbacks)

        def deliver(params):
            headers = signed_headers(auth_token=TOKEN, url=url, method="POST", params=params)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return httpx.post(url, content=urlencode(params), headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(deliver, callbacks))
        log = daphne.log()

    assert statuses == [200] * len(callbacks)
    assert "database is locked" not in log and "Traceback" not in log
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    assert db.execute("select count(*) from calls_callevent").fetchone() == (2 * MEMBERS,)
    assert db.execute("select count(*) from calls_call").fetchone() == (1,)
    states = db.execute("select state, count(*) from calls_member group by state").fetchall()
    assert states == [("left", MEMBERS)]
