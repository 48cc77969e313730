"""Every answer under /api/ carries `Cache-Control: no-store`, errors included (docs/operations.md)."""

from __future__ import annotations

import asyncio

import pytest

import agents.api
from contactcenter.body_limit import DeclaredBodyLimit

pytestmark = pytest.mark.django_db


def test_answers_and_errors_under_api_are_never_stored(api_for, supervisor):
    api = api_for(supervisor)
    answers = {
        "ok": api.get("/api/calls/"),
        "not logged in": api_for(None).get("/api/me/"),
        "unknown call": api.get("/api/calls/424242/"),
        "unknown path": api.get("/api/no-such-thing/"),
        "bad body": api_for(None).post("/api/auth/token/", {"username": ""}, format="json"),
        "export": api.get("/api/calls/export.csv"),
        "schema": api.get("/api/schema/"),
    }
    assert {name: r.status_code for name, r in answers.items()} == {
        "ok": 200, "not logged in": 401, "unknown call": 404, "unknown path": 404, "bad body": 400, "export": 200,
        "schema": 200,
    }
    assert {name: r["Cache-Control"] for name, r in answers.items()} == dict.fromkeys(answers, "no-store")


def test_a_server_error_under_api_is_never_stored(api_for, supervisor, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(agents.api, "agent_directory", broken)
    client = api_for(supervisor)
    client.raise_request_exception = False
    response = client.get("/api/agents/")
    assert response.status_code == 500 and response["Cache-Control"] == "no-store"


def test_the_body_limit_answer_is_never_stored():
    sent = []

    async def send(message):
        sent.append(message)

    async def refuse():
        scope = {"type": "http", "path": "/api/calls/", "headers": [(b"content-length", b"99999999")]}
        await DeclaredBodyLimit(None)(scope, None, send)

    asyncio.run(refuse())
    assert sent[0]["status"] == 413 and (b"cache-control", b"no-store") in sent[0]["headers"]
