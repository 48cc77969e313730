"""The middleware as Daphne runs it (Django's async handler, through `AsyncClient`): the hooks run
inline on the event loop, and what needs the database (a changed session, flash messages) still
reaches it. The sync test client elsewhere in the suite runs Django's classes unchanged."""

from __future__ import annotations

import django.utils.deprecation
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import AsyncClient

import fastpath.middleware
from agents.models import Agent
from tests.factories import NO_SKILLS_INLINE, AgentFactory

PASSWORD = "correct-horse-1"  # tests.factories.UserFactory's

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def thread_hops(monkeypatch):
    """Every trip a middleware hook makes to a worker thread (ours, or Django's own adapter's)."""
    hops: list[str] = []
    real = fastpath.middleware.sync_to_async

    def counting(func, **kwargs):
        hops.append(f"{type(func.__self__).__name__}.{func.__name__}")
        return real(func, **kwargs)

    monkeypatch.setattr(fastpath.middleware, "sync_to_async", counting)
    monkeypatch.setattr(django.utils.deprecation, "sync_to_async", counting)
    return hops


async def sign_in(client: AsyncClient, username: str) -> None:
    await client.get("/login/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = await client.post(
        "/login/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302, response.content


@pytest.mark.parametrize("path", ["/api/me/", "/healthz", "/callbacks/plivo/nope/", "/login/"])
async def test_security_headers_on_the_async_path(path):
    response = await AsyncClient().get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


async def test_a_request_that_changes_no_session_stays_on_the_event_loop(thread_hops):
    response = await AsyncClient().get("/login/")
    assert response.status_code == 200
    assert settings.CSRF_COOKIE_NAME in response.cookies  # the CSRF hook ran, inline
    assert thread_hops == []


async def test_signing_in_saves_the_session_from_a_thread(thread_hops):
    await sync_to_async(AgentFactory)(user__username="alice")
    client = AsyncClient(enforce_csrf_checks=True)
    await sign_in(client, "alice")
    assert thread_hops == ["SessionMiddleware.process_response"]
    response = await client.get("/")
    assert response["Location"] == "/agent/"  # the saved session signs the next request in
    assert (await client.get("/agent/")).status_code == 200


async def test_a_post_without_the_csrf_token_is_refused():
    await sync_to_async(AgentFactory)(user__username="alice")
    client = AsyncClient(enforce_csrf_checks=True)
    response = await client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert settings.SESSION_COOKIE_NAME not in response.cookies


async def test_admin_flash_messages_are_stored_and_shown(thread_hops):
    await sync_to_async(get_user_model().objects.create_superuser)("root", password=PASSWORD)
    agent = await sync_to_async(AgentFactory)(user__username="alice", name="Alice")
    client = AsyncClient()
    await sign_in(client, "root")
    url = f"/admin/agents/agent/{agent.pk}/change/"
    form = (await client.get(url)).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({"username": "alice", "name": "Alice Renamed", "_save": "Save", **NO_SKILLS_INLINE})
    response = await client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert "MessageMiddleware.process_response" in thread_hops
    listing = await client.get(response["Location"])
    assert b"was changed successfully" in listing.content
    assert (await Agent.objects.aget(pk=agent.pk)).name == "Alice Renamed"
