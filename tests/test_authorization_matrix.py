"""Who gets in where: anonymous / the agent on the call / another agent / a supervisor / a
deactivated user, against the API outside /api/calls/ (that matrix is tests/test_call_permissions.py,
by token and by session), every page and the dashboard socket. Then: no call ever reaches an
agent who is not on it, by any road; an agent taken off a call, or a supervisor demoted, stops
receiving it at once; every session-authenticated write needs the CSRF token; failed sign-ins
are throttled across both doors; pages carry the security headers.
"""

import asyncio
import json
import re
import warnings

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agents.login_guard import MAX_FAILURES
from agents.models import Agent
from calls.models import Action, Member
from contactcenter.asgi import application
from tests.factories import AgentFactory
from tests.support.phlo_api import CUSTOMER, live_call, mocked_phlo
from tests.support.plivo import django_callback, participant
from tests.support.sockets import drain

PASSWORD = "correct-horse-1"  # tests.factories.UserFactory's
REQUESTERS = ("anonymous", "member", "other agent", "supervisor", "inactive")


@pytest.fixture
def people(agent, other_agent, supervisor):
    """Each requester's agent; "inactive" is an agent whose login is switched off during the test."""
    inactive = AgentFactory(user__username="ivan", address="+14155550133")
    return {"member": agent, "other agent": other_agent, "supervisor": supervisor, "inactive": inactive}


def deactivate(agent) -> None:
    agent.user.is_active = False
    agent.user.save()


def token_client(agent) -> APIClient:
    client = APIClient()
    if agent is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=agent.user)[0].key}")
    return client


def session_client(agent, *, client_class=Client, **kwargs):
    """A browser: signed in (before any deactivation), CSRF checks on, its csrftoken cookie set."""
    client = client_class(enforce_csrf_checks=True, **kwargs)
    if agent is not None:
        client.force_login(agent.user)
    client.cookies[settings.CSRF_COOKIE_NAME] = "c" * 32
    return client


CSRF = {"HTTP_X_CSRFTOKEN": "c" * 32}


# --- the API outside /api/calls/ ------------------------------------------------------------------

ME_AND_DIRECTORY = {
    "GET /api/me/": ("get", "/api/me/", None),
    "PATCH /api/me/": ("patch", "/api/me/", {"status": "away"}),
    "GET /api/agents/": ("get", "/api/agents/", None),
}
SIGNED_IN = {"member": 200, "other agent": 200, "supervisor": 200, "anonymous": 401, "inactive": 401}


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("endpoint", ME_AND_DIRECTORY)
@pytest.mark.parametrize("requester", REQUESTERS)
def test_me_and_the_directory(people, requester, endpoint, auth):
    who = people.get(requester)
    client = token_client(who) if auth == "token" else session_client(who, client_class=APIClient)
    if requester == "inactive":
        deactivate(who)
    method, path, body = ME_AND_DIRECTORY[endpoint]

    response = getattr(client, method)(path, body, format="json", **CSRF) if body else getattr(client, method)(path)

    assert response.status_code == SIGNED_IN[requester], response.content
    if response.status_code == 200 and path == "/api/me/":
        assert response.json()["id"] == who.pk  # one's own record, whoever asks
    if response.status_code == 401:
        assert "detail" in response.json()
        assert Agent.objects.filter(status="away").count() == 0


@pytest.mark.parametrize("requester", REQUESTERS)
def test_a_token_only_for_an_active_login(people, requester):
    who = people.get(requester)
    if requester == "inactive":
        deactivate(who)
    username = who.user.username if who else "nobody"

    response = APIClient().post("/api/auth/token/", {"username": username, "password": PASSWORD}, format="json")

    assert response.status_code == (400 if requester in ("anonymous", "inactive") else 200)


def test_a_deactivated_users_token_stops_working_at_once(people):
    client = token_client(people["member"])
    assert client.get("/api/me/").status_code == 200
    deactivate(people["member"])
    assert client.get("/api/me/").status_code == 401
    assert client.post("/api/calls/", {"to": "+19995550000"}, format="json").status_code == 401


# --- pages ------------------------------------------------------------------------------------------

LOGIN = "/login/"
PAGES = {
    # path → requester → (status, where a redirect goes)
    "/": {"anonymous": (302, LOGIN), "member": (302, "/agent/"), "other agent": (302, "/agent/"),
          "supervisor": (302, "/supervisor/"), "inactive": (302, LOGIN)},
    "/agent/": {"anonymous": (302, "/login/?next=/agent/"), "member": (200, None), "other agent": (200, None),
                "supervisor": (200, None), "inactive": (302, "/login/?next=/agent/")},
    "/supervisor/": {"anonymous": (302, "/login/?next=/supervisor/"), "member": (302, "/agent/"),
                     "other agent": (302, "/agent/"), "supervisor": (200, None),
                     "inactive": (302, "/login/?next=/supervisor/")},
    # Supervisors run the floor, not the system: the admin is for staff (operators) only.
    "/admin/": dict.fromkeys(REQUESTERS, (302, "/admin/login/?next=/admin/")),
    "/admin/calls/call/": dict.fromkeys(REQUESTERS, (302, "/admin/login/?next=/admin/calls/call/")),
    "/admin/calls/phloapp/": dict.fromkeys(REQUESTERS, (302, "/admin/login/?next=/admin/calls/phloapp/")),
    LOGIN: {"anonymous": (200, None), "member": (302, "/"), "other agent": (302, "/"), "supervisor": (302, "/"),
            "inactive": (200, None)},
}


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("requester", REQUESTERS)
def test_pages(people, phlo_app, requester, path):
    live_call(phlo_app, people["member"])
    who = people.get(requester)
    client = session_client(who)
    if requester == "inactive":
        deactivate(who)

    response = client.get(path)

    status, location = PAGES[path][requester]
    assert (response.status_code, response.get("Location")) == (status, location)


@pytest.mark.parametrize("path", ["/admin/", "/admin/calls/call/", "/admin/calls/phloapp/", "/admin/agents/agent/"])
def test_operators_get_the_admin(db, path):
    operator = get_user_model().objects.create_superuser("op", password=PASSWORD)
    client = Client()
    client.force_login(operator)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/", LOGIN, "/agent/", "/supervisor/", "/admin/login/", "/api/docs/"])
def test_pages_carry_the_security_headers(agent, path):
    response = session_client(agent).get(path)
    assert response.status_code in (200, 302)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    # The Swagger page too: its split view does not relax it (it has no OAuth2 pop-up to open).
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    if path in ("/agent/", "/supervisor/"):  # they carry calls: never kept in a shared cache
        assert "no-store" in response["Cache-Control"] or "private" in response["Cache-Control"]


def test_the_session_cookie_is_httponly_and_samesite(agent):
    client = Client()
    client.get(LOGIN)
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"
    assert response.cookies[settings.CSRF_COOKIE_NAME]["samesite"] == "Lax"


# --- CSRF on every session-authenticated write -------------------------------------------------------

NEW_NUMBER = "+19995550000"


def session_writes(live) -> dict[str, tuple[str, str, dict | None]]:
    call, member = live.call.pk, live.customer.pk
    writes = {
        "PATCH /api/me/": ("patch", "/api/me/", {"status": "away"}),
        "POST /api/calls/": ("post", "/api/calls/", {"to": NEW_NUMBER}),
        **{f"POST {action}": ("post", f"/api/calls/{call}/{action}/", {"to": NEW_NUMBER})
           for action in ("add-member", "warm-transfer", "cold-transfer")},
        **{f"POST {action}": ("post", f"/api/calls/{call}/members/{member}/{action}/", None)
           for action in ("hold", "unhold", "hangup", "resume-call", "abort-transfer", "voicemail-drop")},
    }
    return writes


WRITES = ["PATCH /api/me/", "POST /api/calls/", "POST add-member", "POST warm-transfer", "POST cold-transfer",
          "POST hold", "POST unhold", "POST hangup", "POST resume-call", "POST abort-transfer",
          "POST voicemail-drop"]


@pytest.mark.parametrize("write", WRITES)
def test_session_writes_need_the_csrf_token(settings, phlo_app, agent, write):
    live = live_call(phlo_app, agent)
    method, path, body = session_writes(live)[write]
    client = session_client(agent, client_class=APIClient)
    with mocked_phlo(settings) as phlo:
        forged = {"Origin": "https://evil.example"}
        for headers in ({}, {"HTTP_X_CSRFTOKEN": "d" * 32}):  # none, and one not matching the cookie
            response = getattr(client, method)(path, body, format="json", headers=forged, **headers)
            assert response.status_code == 403, response.content
            assert "CSRF" in response.json()["detail"]
        assert not phlo["phlo"].called
    assert Agent.objects.get(pk=agent.pk).status == "available"
    assert not Action.objects.exists()  # refused before the view: nothing was even attempted

    with mocked_phlo(settings):  # the same request with the page's token gets past the door (409: state rules)
        response = getattr(client, method)(path, body, format="json", **CSRF)
    assert response.status_code in (200, 201, 409), response.content


def test_the_login_and_logout_forms_need_the_csrf_token(agent):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 403
    assert "_auth_user_id" not in browser.session
    browser.force_login(agent.user)
    assert browser.post("/logout/").status_code == 403  # a forged logout is refused too
    assert browser.get("/agent/").status_code == 200


# --- failed sign-ins --------------------------------------------------------------------------------


def test_failed_sign_ins_count_across_the_login_page_and_the_token_endpoint(agent):
    """Alternating the two doors does not double an attacker's guesses."""
    page, api = Client(), APIClient()
    for attempt in range(MAX_FAILURES):
        if attempt % 2:
            assert page.post(LOGIN, {"username": "alice", "password": f"guess-{attempt}"}).status_code == 200
        else:
            response = api.post("/api/auth/token/", {"username": "alice", "password": f"guess-{attempt}"},
                                format="json")
            assert response.status_code == 400
    assert page.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 429
    assert "_auth_user_id" not in page.session
    response = api.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 429 and "token" not in response.json()


def test_any_typed_username_is_throttled_and_a_valid_cache_key(agent):
    """Spaces, newlines, non-ASCII: still counted, and never a key a cache backend would refuse."""
    from django.core.cache.backends.base import CacheKeyWarning

    api = APIClient()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        for _ in range(MAX_FAILURES):
            api.post("/api/auth/token/", {"username": "a b\nc é", "password": "x"}, format="json")
        response = api.post("/api/auth/token/", {"username": "a b\nc é", "password": "x"}, format="json")
    assert response.status_code == 429


# --- the dashboard socket ---------------------------------------------------------------------------


async def open_socket(who=None, *, cookie: str | None = None) -> WebsocketCommunicator:
    path, headers = "/ws/dashboard/", []
    if who is not None:
        token = await database_sync_to_async(lambda: Token.objects.get_or_create(user=who.user)[0].key)()
        path = f"{path}?token={token}"
    if cookie:
        headers = [(b"cookie", cookie.encode()), (b"origin", b"http://localhost"), (b"host", b"localhost")]
    ws = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await ws.connect(timeout=20)
    assert connected
    return ws


async def session_cookie(user) -> str:
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def calls_in(messages: list[dict]) -> set[int]:
    seen = set()
    for message in messages:
        if message["type"] == "snapshot":
            seen |= {c["id"] for c in message["calls"]}
        elif message["type"] == "call.updated":
            seen.add(message["call"]["id"])
    return seen


async def send_callback(app, params) -> None:
    response = await django_callback(AsyncClient(), app, params)
    assert response.status_code == 200, response.content


SOCKET_SEES_THE_CALL = {"member": True, "other agent": False, "supervisor": True}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("via", ["token", "session"])
@pytest.mark.parametrize("requester", REQUESTERS)
async def test_the_socket(people, phlo_app, requester, via):
    live = await database_sync_to_async(live_call)(phlo_app, people["member"])
    inactive_live = await database_sync_to_async(live_call)(phlo_app, people["inactive"])
    who = people.get(requester)
    cookie = await session_cookie(who.user) if via == "session" and who is not None else None
    if requester == "inactive":
        await database_sync_to_async(deactivate)(who)

    ws = await open_socket(who if via == "token" else None, cookie=cookie)
    try:
        first = await drain(ws)
        if requester in ("anonymous", "inactive"):
            assert first == [{"type": "closed", "code": 4401}]
            return
        assert first[0]["type"] == "snapshot"
        await send_callback(phlo_app, participant("ParticipantHold", live.call.mpc_uuid, live.customer.member_id,
                                                  CUSTOMER, seq=1))
        await send_callback(phlo_app, participant("ParticipantHold", inactive_live.call.mpc_uuid,
                                                  inactive_live.customer.member_id, CUSTOMER, seq=1))
        messages = first + await drain(ws)
    finally:
        await ws.disconnect()
    visible = {live.call.pk} if SOCKET_SEES_THE_CALL[requester] else set()
    if requester == "supervisor":
        visible.add(inactive_live.call.pk)
    assert calls_in(messages) == visible
    updates = [m for m in messages if m["type"] == "call.updated"]
    assert len(updates) == len(visible)


# --- zero leaks ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_an_agent_never_sees_another_agents_call_by_any_road(phlo_app, agent, other_agent, supervisor):
    mine = await database_sync_to_async(live_call)(phlo_app, agent)
    theirs = await database_sync_to_async(live_call)(phlo_app, other_agent)
    sockets = {who: await open_socket(person) for who, person in
               (("alice", agent), ("oscar", other_agent), ("sam", supervisor))}
    try:
        seen = {who: await drain(ws) for who, ws in sockets.items()}
        story = [("ParticipantHold", 1), ("ParticipantUnhold", 2), ("ParticipantExit", 3)]
        for name, seq in story:
            for live in (mine, theirs):
                await send_callback(phlo_app, participant(name, live.call.mpc_uuid, live.customer.member_id,
                                                          CUSTOMER, seq=seq))
        await sockets["alice"].send_json_to({"type": "resync"})
        for who, ws in sockets.items():
            seen[who] += await drain(ws)
    finally:
        await asyncio.gather(*(ws.disconnect() for ws in sockets.values()))

    assert calls_in(seen["alice"]) == {mine.call.pk}
    assert calls_in(seen["oscar"]) == {theirs.call.pk}
    assert calls_in(seen["sam"]) == {mine.call.pk, theirs.call.pk}
    assert [m["type"] for m in seen["alice"]].count("call.updated") == len(story)

    def over_http():
        api = token_client(agent)
        for status in ("", "?status=live", "?status=ringing", "?status=active", "?status=ended"):
            assert theirs.call.pk not in {c["id"] for c in api.get(f"/api/calls/{status}").json()}
        assert api.get(f"/api/calls/{theirs.call.pk}/").status_code == 403
        refused = api.post(f"/api/calls/{theirs.call.pk}/members/{theirs.customer.pk}/hold/")
        assert refused.status_code == 403 and set(refused.json()) == {"detail"}
        page = session_client(agent).get("/agent/").content.decode()
        data = json.loads(re.search(r'<script id="page-data" type="application/json">(.*?)</script>', page).group(1))
        assert [c["id"] for c in data["snapshot"]["calls"]] == [mine.call.pk]

    await database_sync_to_async(over_http)()


# --- taken off a call ----------------------------------------------------------------------------------


async def watch_while(phlo_app, live, watchers: dict, change, *, seq: int = 1) -> dict[str, list[dict]]:
    """Open the watchers' sockets, make `change` (sync, in the database), then send one callback
    on the call; what each socket received after the change."""
    sockets = {who: await open_socket(person) for who, person in watchers.items()}
    try:
        for ws in sockets.values():
            await drain(ws)
        await database_sync_to_async(change)()
        before_callback = {who: await drain(ws) for who, ws in sockets.items()}
        await send_callback(phlo_app, participant("ParticipantHold", live.call.mpc_uuid, live.customer.member_id,
                                                  CUSTOMER, seq=seq))
        return {who: before_callback[who] + await drain(ws) for who, ws in sockets.items()}
    finally:
        await asyncio.gather(*(ws.disconnect() for ws in sockets.values()))


@pytest.mark.django_db(transaction=True)
async def test_an_agent_whose_leg_is_relinked_to_another_agent_stops_receiving_the_call(
    phlo_app, agent, other_agent, supervisor
):
    live = await database_sync_to_async(live_call)(phlo_app, agent)

    def relink():
        Member.objects.filter(pk=live.agent.pk).update(agent=other_agent)

    seen = await watch_while(phlo_app, live, {"alice": agent, "oscar": other_agent, "sam": supervisor}, relink)

    assert calls_in(seen["alice"]) == set()
    assert calls_in(seen["oscar"]) == calls_in(seen["sam"]) == {live.call.pk}
    api = await database_sync_to_async(token_client)(agent)
    assert (await database_sync_to_async(api.get)(f"/api/calls/{live.call.pk}/")).status_code == 403


@pytest.mark.django_db(transaction=True)
async def test_an_agent_whose_leg_is_deleted_stops_receiving_the_call(phlo_app, agent, supervisor):
    live = await database_sync_to_async(live_call)(phlo_app, agent)

    def delete_leg():
        Member.objects.filter(pk=live.agent.pk).delete()

    seen = await watch_while(phlo_app, live, {"alice": agent, "sam": supervisor}, delete_leg)

    assert calls_in(seen["alice"]) == set()
    assert calls_in(seen["sam"]) == {live.call.pk}
    api = await database_sync_to_async(token_client)(agent)
    assert (await database_sync_to_async(api.get)(f"/api/calls/{live.call.pk}/")).status_code == 403


@pytest.mark.django_db(transaction=True)
async def test_an_agent_record_deleted_stops_receiving_the_call(phlo_app, agent, supervisor):
    live = await database_sync_to_async(live_call)(phlo_app, agent)
    user = agent.user

    def delete_agent():
        Agent.objects.filter(pk=agent.pk).delete()

    seen = await watch_while(phlo_app, live, {"alice": agent, "sam": supervisor}, delete_agent)

    assert calls_in(seen["alice"]) == set()
    assert calls_in(seen["sam"]) == {live.call.pk}

    def over_http():
        api = APIClient()
        api.force_authenticate(user)
        assert api.get("/api/calls/").json() == []
        assert api.get(f"/api/calls/{live.call.pk}/").status_code == 403

    await database_sync_to_async(over_http)()


@pytest.mark.django_db(transaction=True)
async def test_a_demoted_supervisor_stops_receiving_other_calls_at_once(phlo_app, agent, supervisor):
    live = await database_sync_to_async(live_call)(phlo_app, agent)

    def demote():  # as the admin's agent form saves it
        supervisor.is_supervisor = False
        supervisor.save()

    seen = await watch_while(phlo_app, live, {"sam": supervisor, "alice": agent}, demote)

    snapshots = [m for m in seen["sam"] if m["type"] == "snapshot"]
    assert snapshots and snapshots[-1]["calls"] == []  # told at once, before any change to the call
    assert calls_in(seen["sam"]) == set()
    assert calls_in(seen["alice"]) == {live.call.pk}


async def a_superuser_agent() -> Agent:
    def make():
        boss = AgentFactory(user__username="boss", address="+14155550188")
        boss.user.is_superuser = True
        boss.user.save()
        return boss

    return await database_sync_to_async(make)()


@pytest.mark.django_db(transaction=True)
async def test_a_superuser_whose_rights_are_revoked_stops_receiving_other_calls(phlo_app, agent):
    boss = await a_superuser_agent()
    live = await database_sync_to_async(live_call)(phlo_app, agent)

    def revoke():
        boss.user.is_superuser = False
        boss.user.save()

    seen = await watch_while(phlo_app, live, {"boss": boss}, revoke)

    assert calls_in(seen["boss"]) == set()


@pytest.mark.django_db(transaction=True)
async def test_a_superuser_agent_keeps_the_wall_when_their_status_changes(phlo_app, agent):
    """The other way round: a superuser without the supervisor flag still sees every call after a
    change of their own status (their agent message says supervisor too)."""
    boss = await a_superuser_agent()
    live = await database_sync_to_async(live_call)(phlo_app, agent)

    def go_away():
        from agents.status import agent_set_status

        agent_set_status(agent=Agent.objects.select_related("user").get(pk=boss.pk), status="away")

    seen = await watch_while(phlo_app, live, {"boss": boss}, go_away)

    assert calls_in(seen["boss"]) == {live.call.pk}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["deactivated", "superuser rights revoked"])
async def test_an_operator_without_an_agent_record_loses_the_wall_at_once(phlo_app, agent, change):
    """A superuser with no phone of their own watches the wall (pages/views.py); switching their
    login off closes it, revoking their rights empties it, as for everyone else."""
    operator = await database_sync_to_async(get_user_model().objects.create_superuser)("root", password=PASSWORD)
    live = await database_sync_to_async(live_call)(phlo_app, agent)
    ws = await open_socket(cookie=await session_cookie(operator))
    try:
        assert calls_in(await drain(ws)) == {live.call.pk}

        def apply_change():
            if change == "deactivated":
                operator.is_active = False
            else:
                operator.is_superuser = False
            operator.save()

        await database_sync_to_async(apply_change)()
        messages = await drain(ws)
        await send_callback(phlo_app, participant("ParticipantHold", live.call.mpc_uuid, live.customer.member_id,
                                                  CUSTOMER, seq=1))
        if change == "deactivated":
            assert messages == [{"type": "closed", "code": 4403}]
        else:
            messages += await drain(ws)
            snapshot = messages[0]
            assert (snapshot["type"], snapshot["seq"], snapshot["calls"]) == ("snapshot", 2, [])
            assert "stats" not in snapshot  # the queue's figures are for supervisors; now only its size
            assert calls_in(messages) == set()
    finally:
        await ws.disconnect()
