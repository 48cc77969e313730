"""Integrators' API keys (docs/integrations.md, "Keys"): made by `create_api_key`, shown once, stored as hashes;
`Authorization: Api-Key KEY` reads what a supervisor reads and, unless read-only, acts; a revoked
key gets 401 at once; the admin lists and revokes them and never shows one."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from agents.models import ApiKey, supervises
from agents.viewers import viewer_for
from calls.models import Disposition
from tests.factories import AgentFactory, CallFactory, MemberFactory
from tests.test_history_api import ended_call

pytestmark = pytest.mark.django_db


def create_key(name: str, *options: str) -> str:
    out = io.StringIO()
    call_command("create_api_key", name, *options, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def calls(phlo_app, agent, other_agent):
    """A live call of Alice's and an ended one of Oscar's: the key is on neither."""
    live = CallFactory(phlo_app=phlo_app, status="active")
    MemberFactory(call=live, address=agent.address, agent=agent, role="agent")
    customer = MemberFactory(call=live, role="customer")
    ended = ended_call(phlo_app, agent=other_agent)
    return live, customer, ended


def test_the_key_is_printed_once_and_only_its_hash_is_kept():
    out = io.StringIO()
    call_command("create_api_key", "crm-sync", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith("desk_") and len(key) > 50
    row = ApiKey.objects.get(name="crm-sync")
    assert row.hashed_key == hashlib.sha256(key.encode()).hexdigest()
    stored = [str(value) for value in ApiKey.objects.values_list().get()]
    assert not any(key in value or key.split("_", 2)[2] in value for value in stored)
    assert not row.user.has_usable_password() and not row.user.is_staff and not row.user.is_superuser


def test_a_key_reads_what_a_supervisor_reads(calls):
    live, _, ended = calls
    api = key_client(create_key("wallboard", "--read-only"))
    assert [c["id"] for c in api.get("/api/calls/").json()] == [live.pk]  # a call the key is not on
    assert api.get(f"/api/calls/{live.pk}/").status_code == 200
    assert [c["id"] for c in api.get("/api/calls/?status=ended").json()] == [ended.pk]
    assert api.get(f"/api/calls/{ended.pk}/").status_code == 200
    assert api.get("/api/stats/").status_code == 200  # supervisors only
    assert {a["username"] for a in api.get("/api/agents/").json()} == {"alice", "oscar"}
    export = api.get("/api/calls/export.csv")
    assert export.status_code == 200 and str(ended.pk).encode() in b"".join(export.streaming_content)


def test_a_read_only_key_is_refused_every_change(calls):
    live, customer, ended = calls
    api = key_client(create_key("wallboard", "--read-only"))
    refused = {
        "start a call": api.post("/api/calls/", {"to": "+12025550100"}, format="json"),
        "hold": api.post(f"/api/calls/{live.pk}/members/{customer.pk}/hold/"),
        "wrap-up": api.patch(f"/api/calls/{ended.pk}/wrap-up/", {"notes": "x"}, format="json"),
        "status": api.patch("/api/me/", {"status": "available"}, format="json"),
        "put": api.put(f"/api/calls/{live.pk}/", {}, format="json"),
        "delete": api.delete(f"/api/calls/{live.pk}/"),
        "socket ticket": api.post("/api/ws-ticket/"),
    }
    assert {what: r.status_code for what, r in refused.items()} == dict.fromkeys(refused, 403)
    assert "read-only" in refused["hold"].json()["detail"]


def test_an_acting_key_acts_with_a_supervisor_s_rights(calls):
    _, _, ended = calls
    Disposition.objects.create(name="Resolved")
    api = key_client(create_key("crm-sync"))
    saved = api.patch(f"/api/calls/{ended.pk}/wrap-up/", {"disposition": "Resolved", "notes": "From the CRM"},
                      format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["disposition"] == "Resolved" and "From the CRM" in saved.json()["notes"]


def test_a_revoked_key_gets_401_at_once(calls):
    api = key_client(create_key("crm-sync"))
    assert api.get("/api/calls/").status_code == 200
    out = io.StringIO()
    call_command("revoke_api_key", "crm-sync", stdout=out)
    assert "Revoked" in out.getvalue()
    refused = api.get("/api/calls/")
    assert refused.status_code == 401 and refused.json()["detail"]
    assert api.get("/api/stats/").status_code == 401
    key = ApiKey.objects.get(name="crm-sync")
    assert key.revoked_at is not None and not supervises(key.user, None)


@pytest.mark.parametrize("header", ["Api-Key desk_000000000000_" + "a" * 43, "Api-Key nonsense", "Api-Key"])
def test_an_unknown_or_malformed_key_gets_401(header, calls):
    create_key("crm-sync")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/calls/").status_code == 401


def test_the_right_prefix_with_a_wrong_secret_gets_401(calls):
    key = create_key("crm-sync")
    assert key_client(key[:-4] + "AAAA").get("/api/calls/").status_code == 401


def test_names_are_checked_and_never_reused():
    create_key("crm-sync")
    with pytest.raises(CommandError, match="exists already"):
        create_key("crm-sync")
    call_command("revoke_api_key", "crm-sync", stdout=io.StringIO())
    with pytest.raises(CommandError, match="exists already"):
        create_key("crm-sync")
    with pytest.raises(CommandError, match="NAME must be"):
        create_key("has space")
    with pytest.raises(CommandError, match="No API key"):
        call_command("revoke_api_key", "nobody")


def test_a_key_is_a_supervisor_by_the_one_rule_and_people_are_unchanged(agent, supervisor):
    create_key("crm-sync")
    service_user = ApiKey.objects.get(name="crm-sync").user
    assert viewer_for(service_user).is_supervisor and viewer_for(service_user).agent is None
    assert viewer_for(supervisor.user).is_supervisor and not viewer_for(agent.user).is_supervisor


def test_the_admin_lists_and_revokes_keys_and_never_shows_one(calls):
    key = create_key("crm-sync")
    row = ApiKey.objects.get(name="crm-sync")
    admin = Client()
    admin.force_login(AgentFactory(user__username="root", user__is_staff=True, user__is_superuser=True).user)
    listing = admin.get("/admin/agents/apikey/").content.decode()
    assert "crm-sync" in listing and row.prefix in listing
    page = admin.get(f"/admin/agents/apikey/{row.pk}/change/").content.decode()
    for secret in (key, key.split("_", 2)[2], row.hashed_key):
        assert secret not in listing and secret not in page
    assert admin.get("/admin/agents/apikey/add/").status_code == 403
    assert admin.get(f"/admin/agents/apikey/?hashed_key__startswith={row.hashed_key[0]}").status_code in (302, 400)
    done = admin.post("/admin/agents/apikey/", {"action": "revoke_api_keys", "_selected_action": [row.pk]})
    assert done.status_code == 302
    assert key_client(key).get("/api/calls/").status_code == 401
