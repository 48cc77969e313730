"""Reads compiled once (fastpath/prepared.py) give what the queryset gives: the same rows, the same
converted values (times, JSON), model instances as Django makes them; and refuse what they cannot
prepare."""

import pytest

from calls.core.store import load_call, load_call_by_mpc
from calls.models import Call, Member
from fastpath.prepared import PreparedRead
from tests.support.plivo import django_callback, participant

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_the_callbacks_call_and_members_are_read_as_the_orm_reads_them(client, phlo_app):
    for seq, name in enumerate(["ParticipantJoin", "ParticipantHold"], start=1):
        django_callback(client, phlo_app, participant(name, "mpc-prepared", "c1", "+12025550001", seq=seq))
    django_callback(client, phlo_app, participant("ParticipantJoin", "mpc-prepared", "c2", "+12025550002", seq=3))
    Call.objects.filter(mpc_uuid="mpc-prepared").update(recordings=[{"url": "https://example.com/r.mp3"}])
    for lock in (False, True):
        call, members = load_call_by_mpc(phlo_app, "mpc-prepared", lock=lock)
        orm_call, orm_members = load_call(call.pk, lock=False)
        assert _fields(call) == _fields(orm_call)
        assert call.recordings == [{"url": "https://example.com/r.mp3"}]
        assert call.started_at.tzinfo is not None
        assert [_fields(m) for m in members] == [_fields(m) for m in orm_members]
        assert len(members) == 2 and all(m.call is call for m in members)
        assert call.phlo_app is phlo_app
    assert load_call_by_mpc(phlo_app, "mpc-unknown", lock=True) is None


def test_a_read_it_cannot_prepare_is_refused():
    joined = PreparedRead(lambda pk: Member.objects.select_related("call").filter(pk=pk), stand_ins=(-1,))
    with pytest.raises(ValueError):
        joined.read(1)
    unknown_parameter = PreparedRead(lambda pk: Member.objects.filter(pk=pk, state="left"), stand_ins=(-1,))
    with pytest.raises(ValueError):
        unknown_parameter.read(1)


def test_a_prepared_update_writes_what_a_save_writes_and_says_so(phlo_app):
    """fastpath/prepared.py: PreparedUpdate. Times, JSON, foreign keys by their attname, and the
    post_save a save would send (the history's read model and the reports listen)."""
    from datetime import UTC, datetime

    from django.db.models.signals import post_save

    from fastpath.prepared import PreparedUpdate
    from tests.factories import AgentFactory, CallFactory

    call = CallFactory(phlo_app=phlo_app)
    agent = AgentFactory()
    heard = []

    def receiver(sender, instance, created, update_fields, **kwargs):
        heard.append((sender, instance.pk, created, update_fields))

    post_save.connect(receiver, sender=Call)
    try:
        call.ended_at = datetime(2026, 12, 6, 9, 30, 15, 123456, tzinfo=UTC)
        call.wrap_ups = [{"user": 1, "notes": "Ωμέγα, \"quoted\""}]
        call.offered_to_id = agent.pk
        call.version += 1
        PreparedUpdate(Call).write(call, ["ended_at", "wrap_ups", "offered_to_id", "version"])
    finally:
        post_save.disconnect(receiver, sender=Call)
    stored = Call.objects.get(pk=call.pk)
    assert (stored.ended_at, stored.wrap_ups, stored.offered_to_id, stored.version) == (
        call.ended_at, call.wrap_ups, agent.pk, call.version
    )
    assert heard == [(Call, call.pk, False, frozenset({"ended_at", "wrap_ups", "offered_to_id", "version"}))]


def test_a_prepared_insert_writes_the_row_bulk_create_writes_and_keeps_the_unique_key(phlo_app):
    """fastpath/prepared.py: PreparedInsert, as the intake stores each callback: JSON, times, null
    foreign keys and the dedupe key's unique index as Django's own INSERT has them."""
    from datetime import UTC, datetime

    from django.db import IntegrityError, transaction

    from calls.models import CallEvent
    from fastpath.prepared import PreparedInsert

    def event(key: str) -> CallEvent:
        return CallEvent(
            phlo_app=phlo_app, event_name="ParticipantHold", family="participant", sequence=7,
            params={"MPCUUID": "m-1", "Note": "Ωμέγα \"quoted\""}, dedupe_key=key, outcome="applied",
            event_timestamp=datetime(2026, 12, 6, 9, 30, 15, tzinfo=UTC),
            received_at=datetime(2026, 12, 6, 9, 30, 16, 250000, tzinfo=UTC),
        )

    PreparedInsert(CallEvent).insert(event("prepared"))
    CallEvent.objects.bulk_create([event("orm")])
    prepared, orm = (CallEvent.objects.get(dedupe_key=key) for key in ("prepared", "orm"))
    same = {f.attname for f in CallEvent._meta.concrete_fields} - {"id", "dedupe_key"}
    assert {name: getattr(prepared, name) for name in same} == {name: getattr(orm, name) for name in same}
    assert prepared.params["Note"] == "Ωμέγα \"quoted\"" and prepared.call_id is None
    with pytest.raises(IntegrityError), transaction.atomic():
        PreparedInsert(CallEvent).insert(event("prepared"))  # a repeat: refused, as the intake relies on
    assert CallEvent.objects.filter(dedupe_key="prepared").count() == 1
