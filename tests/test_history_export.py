"""`GET /api/calls/export.csv` (docs/history.md, "Export"): supervisors download the filtered
history as CSV, streamed a chunk at a time through the ASGI application; whatever a cell holds,
a spreadsheet shows it as text, never runs it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.test import AsyncClient
from rest_framework.authtoken.models import Token

from calls.history import search
from calls.models import Disposition
from tests.factories import AgentFactory
from tests.test_history_api import NOON, ended_call

pytestmark = pytest.mark.django_db


def rows_of(content: bytes) -> list[dict]:
    assert content.startswith("\ufeff".encode())  # so spreadsheets read it as UTF-8
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def export(client, **params):
    return client.get("/api/calls/export.csv", params)


def test_a_supervisor_exports_the_filtered_history(api_for, phlo_app, supervisor, agent):
    resolved = Disposition.objects.create(name="Resolved")
    start = NOON - timedelta(minutes=10)
    wanted = ended_call(
        phlo_app, agent=agent, disposition=resolved, notes="Refund, then a follow-up", waiting_since=start,
        answered_at=start + timedelta(seconds=30), ended=start + timedelta(minutes=4, seconds=30),
        was_transferred=True, missed_offers=1,
    )
    ended_call(phlo_app, agent=agent, ended=NOON - timedelta(days=3))  # outside the range

    response = export(api_for(supervisor), since="2026-11-30", q="+1 202")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="calls-')
    [row] = rows_of(b"".join(response.streaming_content))
    assert row == {
        "call_id": str(wanted.pk), "started_at": "2026-11-30T11:49:30Z", "ended_at": "2026-11-30T11:54:30Z",
        "customer": "+12025550143", "agents": "Alice Agent", "outcome": "answered", "transferred": "yes",
        "missed_offers": "1", "wait_seconds": "30", "talk_seconds": "240", "disposition": "Resolved",
        "notes": "Refund, then a follow-up", "phlo_id": phlo_app.phlo_id,
    }


@pytest.mark.parametrize(("requester", "status"), [("agent", 403), (None, 401)])
def test_only_supervisors_export(api_for, phlo_app, agent, requester, status):
    ended_call(phlo_app, agent=agent)
    response = export(api_for(agent if requester else None), HTTP_ACCEPT="text/csv")
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"  # an error is JSON, whatever was accepted
    assert "detail" in response.json()


def test_a_bad_filter_is_a_json_400(api_for, supervisor):
    response = export(api_for(supervisor), since="last tuesday")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("since:")


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
            "\tTAB", "\rCR"]


@pytest.mark.parametrize("notes", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(api_for, phlo_app, supervisor, agent, notes):
    ended_call(phlo_app, agent=agent, notes=notes)
    [row] = rows_of(b"".join(export(api_for(supervisor)).streaming_content))
    assert row["notes"] == "'" + notes
    assert row["customer"] == "+12025550143"  # a number stays a number


def test_notes_with_commas_quotes_lines_and_any_script_come_back_whole(api_for, phlo_app, supervisor):
    notes = 'Said "call me", then:\nline two, with commas; Ωμέγα 名前 🙂'
    AgentFactory(user__username="zoe", name="Zoë, \"the\" agent", address="+14155550191")
    ended_call(phlo_app, notes=notes)
    [row] = rows_of(b"".join(export(api_for(supervisor)).streaming_content))
    assert row["notes"] == notes


@pytest.mark.django_db(transaction=True)
async def test_a_long_export_streams_chunk_by_chunk_through_asgi(phlo_app, supervisor, monkeypatch):
    """Over the ASGI handler, as Daphne serves it: several chunks, every call once, newest first."""
    from channels.db import database_sync_to_async

    monkeypatch.setattr(search, "EXPORT_CHUNK", 4)

    def set_up():
        made = [ended_call(phlo_app, ended=datetime(2026, 11, 30, 12, 0, tzinfo=UTC) - timedelta(minutes=n))
                for n in range(11)]
        return [c.pk for c in made], Token.objects.get_or_create(user=supervisor.user)[0].key

    expected, token = await database_sync_to_async(set_up)()
    response = await AsyncClient().get("/api/calls/export.csv", headers={"Authorization": f"Token {token}"})

    assert response.status_code == 200
    pieces = [piece async for piece in response.streaming_content]
    assert len(pieces) == 1 + 3  # the header, then three chunks of at most four calls
    assert [int(row["call_id"]) for row in rows_of(b"".join(pieces))] == expected
