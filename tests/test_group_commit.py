"""The intake thread's group commit (fastpath/group_commit.py): what queued while a
transaction ran is committed together, each work keeps the all-or-nothing of a transaction of its
own, and each is answered only after the commit that holds it."""

import itertools
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction

from fastpath.group_commit import GroupCommitThread

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()


def _blocked_queue(intake: GroupCommitThread):
    """Occupy the thread with a first work until `release` is set, so what is submitted meanwhile queues."""
    started, release = threading.Event(), threading.Event()

    def first():
        started.set()
        release.wait(10)
        return "first"

    future = intake.submit(first)
    assert started.wait(10)
    return future, release


_numbers = itertools.count()


def _outermost_transaction() -> int:
    """A number for the transaction the caller runs in (the same for all its savepoints)."""
    outermost = connection.atomic_blocks[0]
    if not hasattr(outermost, "test_number"):
        outermost.test_number = next(_numbers)
    return outermost.test_number


def _create(name: str):
    def work():
        User.objects.create(username=name)
        return _outermost_transaction()

    return work


def test_what_queued_meanwhile_is_committed_in_one_transaction():
    intake = GroupCommitThread("test-intake")
    first, release = _blocked_queue(intake)
    queued = [intake.submit(_create(f"queued{n}")) for n in range(5)]
    assert not any(f.done() for f in queued)
    release.set()
    assert first.result(10) == "first"
    transactions = {f.result(10) for f in queued}
    assert len(transactions) == 1
    assert User.objects.filter(username__startswith="queued").count() == 5


def test_a_failing_work_fails_alone_and_leaves_nothing_behind():
    intake = GroupCommitThread("test-intake")
    _, release = _blocked_queue(intake)

    def half_done_then_fails():
        User.objects.create(username="half")
        raise ValueError("this callback's own fault")

    before = intake.submit(_create("before"))
    failing = intake.submit(half_done_then_fails)
    after = intake.submit(_create("after"))
    release.set()
    with pytest.raises(ValueError):
        failing.result(10)
    assert before.result(10) == after.result(10)  # one transaction for both
    assert set(User.objects.values_list("username", flat=True)) == {"before", "after"}


def test_a_database_failure_in_a_batch_retries_each_work_alone():
    intake = GroupCommitThread("test-intake")
    _, release = _blocked_queue(intake)
    tries = {"broken": 0}

    def broken():
        tries["broken"] += 1
        raise DatabaseError("the database went away")

    good = [intake.submit(_create(f"good{n}")) for n in range(3)]
    bad = intake.submit(broken)
    release.set()
    with pytest.raises(DatabaseError):
        bad.result(10)
    assert len({f.result(10) for f in good}) == 3  # each alone, after the batch was rolled back
    assert tries["broken"] == 2  # in the batch, then alone
    assert User.objects.filter(username__startswith="good").count() == 3


def test_a_work_is_answered_only_after_its_commit():
    intake = GroupCommitThread("test-intake")
    seen_from_outside = []

    def work():
        User.objects.create(username="committed")
        transaction.on_commit(lambda: seen_from_outside.append("commit"))
        return "done"

    assert intake.submit(work).result(10) == "done"
    assert seen_from_outside == ["commit"]
    assert User.objects.filter(username="committed").exists()
