"""A call's timeline (`/history/{id}/`, docs/history.md): everything Plivo reported and everything
people asked of the desk, in time order and in words; digits masked; recordings playable; the raw
callbacks one click away for operators only.

The call is played for real: signed callbacks through the intake, actions through the API (PHLO
answered by the suite's stand-in, tests/support/phlo_api.py) and the wrap-up PATCH.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from calls.models import Action, Call, Disposition
from tests.factories import AgentFactory
from tests.support.phlo_api import mocked_phlo
from tests.support.plivo import django_callback, mpc_event, participant

pytestmark = pytest.mark.django_db

CUSTOMER = "+12025550143"
CARD = "4111111111111111"
RECORDING = "https://media.plivo.com/v1/Account/MA/Recording/rec-1.mp3"


def now() -> str:
    """Plivo's clock is the same as ours here, so what people did and what Plivo saw interleave."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Story:
    def __init__(self, client, app, settings):
        self.client, self.app, self.settings, self.seq = client, app, settings, 0

    def plivo(self, name: str, member: str | None = None, address: str = "", **extra) -> None:
        self.seq += 1
        if member is None:
            params = mpc_event(name, "mpc-story", seq=self.seq, EventTimestamp=now(), **extra)
        else:
            params = participant(name, "mpc-story", member, address, seq=self.seq, EventTimestamp=now(), **extra)
        assert django_callback(self.client, self.app, params).status_code == 200

    @property
    def call(self) -> Call:
        return Call.objects.get(mpc_uuid="mpc-story")

    def member_id(self, address: str) -> int:
        return self.call.members.filter(address=address).order_by("-pk").values_list("pk", flat=True).first()

    def act(self, api, path: str, body: dict | None = None, *, status: int = 200) -> None:
        response = api.post(f"/api/calls/{self.call.pk}/{path}/", body or {}, format="json")
        assert response.status_code == status, response.content


@pytest.fixture
def bob(db):
    return AgentFactory(user__username="bob", name="Bob Chen", address="+14155550112")


@pytest.fixture
def story(client, phlo_app, settings, agent, bob, api_for):
    """Alice answers, holds, the customer types a card number and talks, a recording runs, a hold
    fails at PHLO, Alice warm-transfers to Bob who completes it, Alice leaves, the call ends, and
    Bob saves the wrap-up."""
    Disposition.objects.create(name="Escalated")
    play = Story(client, phlo_app, settings)
    alice, bob_api = api_for(agent), api_for(bob)
    with mocked_phlo(settings) as phlo:
        play.plivo("MPCStart")
        play.plivo("ParticipantJoin", "c", CUSTOMER)
        play.plivo("ParticipantJoin", "a", agent.address, role="Agent", direction="outbound")
        play.act(alice, f"members/{play.member_id(CUSTOMER)}/hold")
        play.plivo("ParticipantHold", "c", CUSTOMER)
        play.act(alice, f"members/{play.member_id(CUSTOMER)}/unhold")
        play.plivo("ParticipantUnhold", "c", CUSTOMER)
        play.plivo("ParticipantDigitInput", "c", CUSTOMER, DigitInput=CARD)
        play.plivo("ParticipantSpeakStart", "c", CUSTOMER)
        play.plivo("MPCRecordingInitiated", RecordingUUID="rec-1")
        phlo["phlo"].respond(500, json={"api_id": "x", "error": "Internal server error, please try again later"})
        play.act(alice, f"members/{play.member_id(CUSTOMER)}/hold", status=502)
        phlo["phlo"].respond(201, json={"api_id": "ok", "error": ""})
        play.act(alice, "warm-transfer", {"to": bob.address})
        play.plivo("ParticipantJoin", "b", bob.address, role="Agent", direction="outbound")
        play.act(bob_api, f"members/{play.member_id(bob.address)}/resume-call")
        play.act(alice, f"members/{play.member_id(agent.address)}/hangup")
        play.plivo("ParticipantExit", "a", agent.address, role="Agent", direction="outbound")
        play.plivo("MPCRecordingCompleted", RecordingUUID="rec-1", RecordingURL=RECORDING, RecordingDuration="125",
                   RecordingFormat="mp3")
        play.plivo("MPCSomethingNew")  # a kind of callback the desk does not know (yet)
        play.plivo("MPCEnd", MPCTerminationCause="Hangup by customer")
    response = bob_api.patch(f"/api/calls/{play.call.pk}/wrap-up/",
                             {"disposition": "Escalated", "notes": "Card <b>declined</b>; Bob calls back."},
                             format="json")
    assert response.status_code == 200
    return play.call


def page(user, call_id: int):
    browser = Client()
    browser.force_login(user)
    return browser.get(f"/history/{call_id}/")


def entries(page_html: str) -> list[str]:
    """The timeline's entries as a reader sees them: tags gone, raw callbacks folded away."""
    found = []
    for block in re.findall(r'<li class="entry[^"]*">(.*?)</li>', page_html, re.S):
        block = re.sub(r"<details.*?</details>", "", block, flags=re.S)
        found.append(" ".join(html.unescape(re.sub(r"<[^>]+>", " ", block)).split()))
    return found


def in_order(lines: list[str], wanted: list[str]) -> None:
    at = 0
    for text in wanted:
        while at < len(lines) and text not in lines[at]:
            at += 1
        assert at < len(lines), f"{text!r} not found in order in:\n" + "\n".join(lines)
        at += 1


def test_the_timeline_tells_the_call_in_order_and_in_words(story, supervisor, agent):
    response = page(supervisor.user, story.pk)
    assert response.status_code == 200
    lines = entries(response.content.decode())
    in_order(lines, [
        "The call started",
        "Customer +12025550143 joined. reported by Plivo Called in",
        "Alice Agent joined",
        "Alice Agent put customer +12025550143 on hold. asked of the desk · confirmed by Plivo",
        "Alice Agent took customer +12025550143 off hold. asked of the desk · confirmed by Plivo",
        "Customer +12025550143 pressed keys",
        "Customer +12025550143 started speaking",
        "The recording started",
        "Alice Agent could not put customer +12025550143 on hold. Refused · asked of the desk "
        "PHLO had a problem (HTTP 500) and did not act; nothing was changed. Try again in a moment. "
        "[Plivo said: Internal server error, please try again later]",
        "Alice Agent started a warm transfer to Bob Chen",
        "Bob Chen joined. reported by Plivo Warm transfer from Alice Agent",
        "Bob Chen completed the warm transfer; everyone stays on the call",
        "Alice Agent left the call. asked of the desk · confirmed by Plivo",
        "The recording is complete. reported by Plivo Length 2:05.",
        "Plivo sent a callback the desk does not understand",
        "The call ended. reported by Plivo Reason: Hangup by customer.",
        "Bob Chen saved the wrap-up. asked of the desk Disposition: Escalated. Card <b>declined</b>; Bob calls back.",
    ])
    # Each request and Plivo's report of it are one line (issue 25, 8): nothing is told twice.
    assert not [line for line in lines if "was put on hold" in line or "was taken off hold" in line]
    assert not [line for line in lines if line.startswith("Alice Agent left. reported by Plivo")]
    keys = next(line for line in lines if "pressed keys" in line)
    assert "•" * len(CARD) in keys


def test_a_report_that_arrives_before_the_request_was_recorded_is_one_line_in_the_requests_place(
    client, phlo_app, settings, supervisor, agent, api_for
):
    """Plivo's report of a hold can reach the desk before the request is recorded (the request is
    written when PHLO answers): the line is still one, told where the request was made."""
    play = Story(client, phlo_app, settings)
    with mocked_phlo(settings):
        play.plivo("MPCStart")
        play.plivo("ParticipantJoin", "c", CUSTOMER)
        play.plivo("ParticipantJoin", "a", agent.address, role="Agent", direction="outbound")
        play.act(api_for(agent), f"members/{play.member_id(CUSTOMER)}/hold")
        play.plivo("ParticipantHold", "c", CUSTOMER)
        hold = Action.objects.get(action="hold")
        # Recorded 2 s after it was asked for, by which time Plivo had reported it.
        Action.objects.filter(pk=hold.pk).update(created_at=hold.created_at + timedelta(seconds=2), duration_ms=2000)
        play.plivo("ParticipantUnhold", "c", CUSTOMER)
        play.plivo("MPCEnd")
    lines = entries(page(supervisor.user, play.call.pk).content.decode())
    held = [line for line in lines if "on hold" in line]
    assert len(held) == 1, lines
    assert "Alice Agent put customer +12025550143 on hold. asked of the desk · confirmed by Plivo" in held[0]
    # The unhold nobody asked of the desk stays Plivo's own line.
    assert any("was taken off hold. reported by Plivo" in line for line in lines)


def test_the_summary_members_and_recording(story, supervisor):
    text = response_text = page(supervisor.user, story.pk).content.decode()
    assert f'<audio controls preload="none" src="{RECORDING}"' in text
    assert "Escalated" in text and "Card &lt;b&gt;declined&lt;/b&gt;; Bob calls back." in response_text
    assert "<b>declined</b>" not in text  # what people type is text, never markup
    members = re.search(r'<table class="history-table members-table">(.*?)</table>', text, re.S).group(1)
    rows = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr>(.*?)</tr>", members, re.S)]
    assert rows[1].startswith("Customer +12025550143 Called in")
    assert rows[3].startswith("Bob Chen Warm transfer from Alice Agent")


def test_keys_pressed_never_show_and_raw_callbacks_are_for_operators(story, supervisor, agent):
    for user in (supervisor.user, agent.user):
        text = page(user, story.pk).content.decode()
        assert CARD not in text
        assert "Raw callback" not in text and "/admin/" not in text
    operator = get_user_model().objects.create_superuser("op", password="op-password-1")
    text = page(operator, story.pk).content.decode()
    assert CARD not in text
    assert text.count("<summary>Raw callback</summary>") == 13  # one per callback the story sent
    assert f'href="/admin/calls/call/{story.pk}/change/"' in text
    assert "&quot;DigitInput&quot;: &quot;" + "•" * len(CARD) in text


def test_a_recording_url_that_is_not_http_is_not_offered(client, phlo_app, supervisor):
    call = Call.objects.create(phlo_app=phlo_app, status="ended", recordings=[
        {"url": "javascript:alert(1)", "duration": 3}, {"url": RECORDING, "duration": 5},
    ])
    text = page(supervisor.user, call.pk).content.decode()
    assert "javascript:" not in text
    assert text.count("<audio") == 1


@pytest.mark.parametrize(("who", "status"), [("agent", 200), ("bob", 200), ("other", 403), ("supervisor", 200),
                                             ("nodesk", 403)])
def test_who_may_read_a_timeline(story, agent, bob, other_agent, supervisor, who, status):
    user = {"agent": agent.user, "bob": bob.user, "other": other_agent.user, "supervisor": supervisor.user,
            "nodesk": get_user_model().objects.create_user("nodesk")}[who]
    assert page(user, story.pk).status_code == status


def test_an_unknown_call_is_404_and_strangers_sign_in_first(supervisor, story):
    assert page(supervisor.user, 999999).status_code == 404
    response = Client().get(f"/history/{story.pk}/")
    assert (response.status_code, response["Location"]) == (302, f"/login/?next=/history/{story.pk}/")


def test_a_repeated_callback_is_told_once_and_a_late_one_says_so(client, phlo_app, supervisor, agent):
    join = participant("ParticipantJoin", "mpc-twice", "c", CUSTOMER, seq=5, EventTimestamp="2026-11-30 09:00:00")
    for params in (
        join, join,
        participant("ParticipantHold", "mpc-twice", "c", CUSTOMER, seq=7, EventTimestamp="2026-11-30 09:00:05"),
        participant("ParticipantUnhold", "mpc-twice", "c", CUSTOMER, seq=6, EventTimestamp="2026-11-30 09:00:03"),
    ):
        assert django_callback(client, phlo_app, params).status_code == 200
    call = Call.objects.get(mpc_uuid="mpc-twice")
    lines = entries(page(supervisor.user, call.pk).content.decode())
    assert sum("joined" in line for line in lines) == 1
    assert "it did not change the call" in next(line for line in lines if "taken off hold" in line)


def test_the_desks_offers_and_recording_requests_are_told(client, phlo_app, supervisor, agent, bob):
    """The router's offers (calls/queue/routing.py) read as the desk's doing, a missed one with why it
    failed; the Voice API's recording requests in words, never as a bare action name."""
    join = participant("ParticipantJoin", "mpc-offers", "c", CUSTOMER, seq=1, EventTimestamp=now())
    assert django_callback(client, phlo_app, join).status_code == 200
    call = Call.objects.get(mpc_uuid="mpc-offers")
    for person, outcome, error in ((bob, "missed", "PHLO refused: +14155550112 is busy"), (agent, "answered", "")):
        Action.objects.create(call=call, action="offer", request_body={"to": person.address, "agent": person.pk},
                              http_status=0, ok=outcome == "answered", upstream_outcome=outcome, error=error)
    Action.objects.create(call=call, actor=supervisor.user, action="recording-start", http_status=200, ok=True)
    lines = entries(page(supervisor.user, call.pk).content.decode())
    in_order(lines, [
        "The desk offered the call to agent +14155550112 (not answered; they were set to away)",
        "The desk offered the call to agent +14155550101 (answered)",
        "started recording the call",
    ])
    missed = next(line for line in lines if "not answered" in line)
    assert "PHLO refused: +14155550112 is busy" in missed
    assert not any("asked for" in line for line in lines)
