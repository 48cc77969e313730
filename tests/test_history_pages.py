"""The pages' side of the history (docs/history.md): what `/history/` and the desk carry for their
scripts, the links between the pages, and that nothing secret rides along."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from calls.models import Disposition
from tests.factories import AgentFactory
from tests.test_pages import page_data

pytestmark = pytest.mark.django_db

TOKEN = "test-auth-token-do-not-leak"  # tests/factories.PhloAppFactory's


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_history_page_carries_names_dispositions_and_the_words(phlo_app, agent, supervisor):
    Disposition.objects.create(name="Resolved", order=2)
    Disposition.objects.create(name="Old code", active=False, order=1)
    gone = AgentFactory(user__username="gone", name="Former Agent", address="+14155550177")
    gone.user.is_active = False
    gone.user.save()

    response = signed_in(supervisor.user).get("/history/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "pages/js/history.js" in html
    data = page_data(response)
    assert {a["name"] for a in data["agents"]} == {"Alice Agent", "Sam Supervisor", "Former Agent"}
    assert [(d["name"], d["active"]) for d in data["dispositions"]] == [("Old code", False), ("Resolved", True)]
    assert data["vocabulary"]["history_outcomes"]["missed"] == "Missed by an agent"
    assert '<option value="Old code">Old code (retired)</option>' in html
    assert 'id="history-export"' in html  # supervisors export
    assert TOKEN not in html


def test_an_agent_searches_their_own_calls_and_exports_nothing(agent):
    html = signed_in(agent.user).get("/history/").content.decode()
    assert "Your calls" in html
    assert "history-export" not in html


@pytest.mark.parametrize("path", ["/agent/", "/history/"])
def test_every_desk_links_to_the_history(agent, path):
    html = signed_in(agent.user).get(path).content.decode()
    assert '<a href="/history/"' in html
    assert 'href="/supervisor/"' not in html  # the wall stays the supervisors'


def test_the_wall_links_to_the_history_too(supervisor):
    html = signed_in(supervisor.user).get("/supervisor/").content.decode()
    assert '<a href="/history/"' in html and '<a href="/supervisor/" aria-current="page">' in html


def test_the_desk_has_its_wrap_up_form_and_knows_the_rule(agent, settings):
    settings.DISPOSITION_REQUIRED = True
    response = signed_in(agent.user).get("/agent/")
    assert '<section id="wrap-up" class="panel wrap-up" hidden></section>' in response.content.decode()
    assert page_data(response)["wrap_up"] == {"disposition_required": True}


def test_an_account_without_a_desk_has_no_history(db):
    user = get_user_model().objects.create_user("nodesk")
    assert signed_in(user).get("/history/").status_code == 403
