"""`manage.py prune_history` (docs/data.md): ended calls older than N days go with
everything kept for them; live calls stay, however old; a dry run deletes nothing."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from calls.models import Action, AgentCall, Call, CallEvent, Member
from tests.factories import CallFactory, MemberFactory
from tests.test_settings import load_settings

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def call_with_everything(phlo_app, agent, *, days_ago: int, status: str = "ended") -> Call:
    when = NOW - timedelta(days=days_ago)
    call = CallFactory(
        phlo_app=phlo_app, status=status, started_at=when - timedelta(minutes=5),
        ended_at=when if status == "ended" else None,
        wrap_ups=[{"user": agent.user_id, "agent": agent.pk, "name": "Alice", "disposition": "Sale", "notes": "n"}],
        notes="n",
    )
    customer = MemberFactory(call=call, role="customer", address="+12025550111")
    MemberFactory(call=call, role="agent", address=agent.address, agent=agent)
    for name in ("ParticipantJoin", "ParticipantExit"):
        CallEvent.objects.create(phlo_app=phlo_app, call=call, member=customer, event_name=name,
                                 params={"From": "+12025550111"}, outcome="applied", received_at=when)
    Action.objects.create(actor=agent.user, call=call, member=customer, action="hold", http_status=200,
                          request_body={}, created_at=when)
    return call


def orphans(phlo_app, *, days_ago: int) -> None:
    when = NOW - timedelta(days=days_ago)
    CallEvent.objects.create(phlo_app=phlo_app, event_name="MPCStart", params={"MPCUUID": "x"}, outcome="unmatched",
                             received_at=when)
    Action.objects.create(action="start", http_status=502, request_body={"to": "+12025550199"}, created_at=when)


def prune(*options: str) -> str:
    out = io.StringIO()
    call_command("prune_history", *options, stdout=out)
    return out.getvalue()


def counted(output: str) -> dict[str, int]:
    lines = [line.split(None, 1) for line in output.splitlines()[1:]]
    return {kind: int(number) for number, kind in lines}


@pytest.fixture
def history(phlo_app, agent):
    old = call_with_everything(phlo_app, agent, days_ago=100)
    recent = call_with_everything(phlo_app, agent, days_ago=10)
    stuck_live = call_with_everything(phlo_app, agent, days_ago=200, status="active")
    orphans(phlo_app, days_ago=100)
    orphans(phlo_app, days_ago=10)
    return old, recent, stuck_live


def test_a_dry_run_says_what_would_go_and_deletes_nothing(history):
    before = [model.objects.count() for model in (Call, Member, CallEvent, Action, AgentCall)]
    output = prune("--older-than-days", "30", "--dry-run")
    assert output.startswith("Would delete (dry run, nothing deleted)")
    assert counted(output) == {
        "calls": 1, "members": 2, "callbacks": 2, "actions": 1, "wrap-ups": 1, "agent history rows": 1,
        "callbacks of no call": 1, "actions of no call": 1,
    }
    assert [model.objects.count() for model in (Call, Member, CallEvent, Action, AgentCall)] == before


def test_old_ended_calls_go_with_everything_kept_for_them(history):
    old, recent, stuck_live = history
    assert AgentCall.objects.filter(call=old).exists()
    output = prune("--older-than-days", "30")
    assert output.startswith("Deleted: what ended before")
    assert counted(output) == {
        "calls": 1, "members": 2, "callbacks": 2, "actions": 1, "wrap-ups": 1, "agent history rows": 1,
        "callbacks of no call": 1, "actions of no call": 1,
    }
    assert set(Call.objects.values_list("pk", flat=True)) == {recent.pk, stuck_live.pk}
    assert not Member.objects.filter(call_id=old.pk).exists()
    assert not CallEvent.objects.filter(call_id=old.pk).exists()
    assert not AgentCall.objects.filter(call_id=old.pk).exists()
    assert Action.objects.filter(call__isnull=True).count() == 1  # the recent orphan; none left by the old call
    # The live call, 200 days old, is untouched with all it holds.
    assert Member.objects.filter(call=stuck_live).count() == 2
    assert CallEvent.objects.filter(call=stuck_live).count() == 2
    assert Action.objects.filter(call=stuck_live).count() == 1


def test_a_large_prune_goes_batch_by_batch(phlo_app, agent):
    for days in range(40, 45):
        call_with_everything(phlo_app, agent, days_ago=days)
    output = prune("--older-than-days", "30", "--batch-size", "2")
    assert counted(output)["calls"] == 5 and counted(output)["members"] == 10
    assert not Call.objects.exists() and not Member.objects.exists() and not CallEvent.objects.exists()


def test_each_batch_is_a_transaction_of_its_own(phlo_app, agent, monkeypatch):
    from calls.management.commands import prune_history

    for days in range(40, 45):
        call_with_everything(phlo_app, agent, days_ago=days)
    batches = []
    real = prune_history._delete_calls

    def recording(cutoff, batch):
        batches.append(len(batch))
        return real(cutoff, batch)

    monkeypatch.setattr(prune_history, "_delete_calls", recording)
    prune("--older-than-days", "30", "--batch-size", "2")
    assert batches == [2, 2, 1]


def test_retention_days_is_the_default(history, settings):
    settings.RETENTION_DAYS = 30
    assert counted(prune())["calls"] == 1
    settings.RETENTION_DAYS = 5
    assert counted(prune("--dry-run"))["calls"] == 1  # the 10-day-old one; the live one never


def test_without_a_number_of_days_nothing_is_deleted(history, settings):
    settings.RETENTION_DAYS = None
    with pytest.raises(CommandError, match="RETENTION_DAYS"):
        prune()
    with pytest.raises(CommandError, match="1 or more"):
        prune("--older-than-days", "0")
    assert Call.objects.count() == 3


def test_retention_days_must_be_a_positive_number_of_days():
    assert load_settings(RETENTION_DAYS="90").returncode == 0
    refused = load_settings(RETENTION_DAYS="0")
    assert refused.returncode != 0 and "RETENTION_DAYS must be" in refused.stderr
