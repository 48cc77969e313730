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
        "customer": "'+12025550143", "agents": "Alice Agent", "outcome": "answered", "transferred": "yes",
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
    # Contract §14: every cell that begins with = + - @, a number with its sign too (a spreadsheet
    # reads +1202… as a formula, =+1202…, and shows 12025550143).
    assert row["customer"] == "'+12025550143"


# The third probe: what follows a separator (`;` is the list separator of many locales, where a
# spreadsheet splits an unquoted cell there), and full-width and invisible prefixes.
AFTER_A_SEPARATOR = ["x;=1+1", "x,=1+1", "x\t=1+1", "Called back; -5 minutes late", "a,  @SUM(A1:A2)"]
DISGUISED = ["\uff1d1+1", "\uff0bcmd", "\uff0d2+3", "\uff20SUM(A1:A2)", "\u200b=1+1", "\ufeff=1+1",
             "\u2060@SUM(A1)", "\u200e-2+3", "\u00a0=1+1", "x;\u200b\uff1d1+1", "\u2212 2+3"]


def export_lines(client) -> list[str]:
    return b"".join(export(client).streaming_content).decode("utf-8-sig").split("\r\n")


@pytest.mark.parametrize("notes", AFTER_A_SEPARATOR + DISGUISED)
def test_no_spreadsheet_reads_a_formula_after_a_separator_or_behind_a_disguise(
    api_for, phlo_app, supervisor, agent, notes
):
    ended_call(phlo_app, agent=agent, notes=notes)
    [_, line, end] = export_lines(api_for(supervisor))
    assert end == ""
    # Quoted, with a leading ': a reader splitting at `;` (or a tab) still sees one cell, text.
    assert line.endswith(f",\"'{notes}\",{phlo_app.phlo_id}")
    [row] = rows_of(b"".join(export(api_for(supervisor)).streaming_content))
    assert row["notes"] == "'" + notes


def test_a_sip_caller_id_with_a_formula_after_a_separator_is_written_as_text(api_for, phlo_app, supervisor):
    caller = "sip:x;=HYPERLINK(\"http://evil.example\")@example.com"
    ended_call(phlo_app, customer=caller)
    [row] = rows_of(b"".join(export(api_for(supervisor)).streaming_content))
    assert row["customer"] == "'" + caller


@pytest.mark.parametrize("notes", ["a; b", "tab\there", "plain, text"])
def test_a_cell_with_a_separator_is_quoted_whole(api_for, phlo_app, supervisor, agent, notes):
    """Split nowhere, whichever of `,` `;` or tab a spreadsheet takes for the separator; no formula, no '."""
    ended_call(phlo_app, agent=agent, notes=notes)
    [_, line, _] = export_lines(api_for(supervisor))
    assert f',"{notes}",' in line


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
