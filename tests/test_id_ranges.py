"""Contract §13: an id out of range is 404, never 500 — on every route with an id in its path
(calls, members, wrap-up, the timeline page), for every method, for everyone who may ask. The third
probe's case: a call id above 64 bits was a 500 (`OverflowError`) on `complete-transfer`."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.support.phlo_api import live_call, mocked_phlo

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = [2**63, 2**64, 10**30, 2**64 + 12345]
ID_IN_ROUTE = re.compile(r"<(?:int|id):(\w+)>")  # a database id (`<str:phlo_id>` is PHLO's, a string)


def routes_with_ids() -> list[str]:
    """Every route of the site with an id in its path, its ids left as `<…>`."""
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and ID_IN_ROUTE.search(route) and not route.startswith("admin/"):
                found.append(route)

    walk(get_resolver().url_patterns)
    return sorted(set(found))


ROUTES = routes_with_ids()


def test_the_routes_with_ids_are_found_and_all_take_them_through_the_id_converter():
    assert any(route.endswith("complete-transfer/") for route in ROUTES)
    assert any("members/" in route for route in ROUTES) and any(route.startswith("history/") for route in ROUTES)
    assert len(ROUTES) >= 20
    assert [route for route in ROUTES if "<int:" in route] == []  # Django's own matches any digits


@pytest.fixture
def clients(api_for, agent, supervisor):
    """By token for the API, by session for the pages: whoever may ask."""
    sessions = {}
    for who in (agent, supervisor):
        session = Client(raise_request_exception=False)
        session.force_login(who.user)
        sessions[who.user.username] = session
    tokens = {who.user.username: api_for(who) for who in (agent, supervisor)}
    for client in tokens.values():
        client.raise_request_exception = False
    return {"api": tokens, "pages": sessions}


@pytest.mark.parametrize("route", ROUTES)
def test_an_id_out_of_range_is_a_404_never_a_500(settings, clients, phlo_app, agent, route):
    wrong = []
    names = set(ID_IN_ROUTE.findall(route))
    with mocked_phlo(settings):
        live = live_call(phlo_app, agent)  # a real call and member, for the ids that stay in range
        for who, client in clients["api" if route.startswith("api/") else "pages"].items():
            for huge in OUT_OF_RANGE:
                for out in ({"call_id"}, {"member_id"}, {"call_id", "member_id"}):
                    if not out <= names:
                        continue
                    values = {"call_id": live.call.pk, "member_id": live.customer.pk, **dict.fromkeys(out, huge)}
                    path = "/" + ID_IN_ROUTE.sub(lambda m, values=values: str(values[m.group(1)]), route)
                    for method in ("get", "post", "patch"):
                        response = getattr(client, method)(path, {}, content_type="application/json")
                        if response.status_code != 404:
                            wrong.append((who, method.upper(), path, response.status_code))
    server_errors = [w for w in wrong if w[3] >= 500]
    assert wrong == [], f"{len(wrong)} not 404, of which 5xx: {server_errors}"


@pytest.mark.parametrize("model", ["calls/call", "calls/member", "calls/callevent", "agents/agent", "auth/user"])
def test_the_admin_takes_an_id_out_of_range_as_a_missing_object(model):
    """The admin's own routes carry ids as text and look them up safely: never a 500."""
    from django.contrib.auth.models import User

    operator = Client(raise_request_exception=False)
    operator.force_login(User.objects.create_superuser("root", "root@example.com", "pw-not-used-0"))
    for huge in OUT_OF_RANGE:
        for page in ("change", "history", "delete"):
            assert operator.get(f"/admin/{model}/{huge}/{page}/").status_code in (302, 403, 404)
