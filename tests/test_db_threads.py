"""The API's database steps (fastpath/db_threads.py): on kept threads when served through ASGI, on the
caller's thread under WSGI (a test's transaction stays visible), and a failed connection is not reused."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from django.test import RequestFactory

from fastpath.db_threads import in_db_thread, serving

pytestmark = pytest.mark.django_db(transaction=True)


class ASGIishRequest:
    """Anything that is not a WSGIRequest is served through ASGI."""


def _where() -> str:
    return threading.current_thread().name


async def test_through_asgi_a_step_runs_on_a_kept_thread_and_sees_committed_rows():
    serving(ASGIishRequest())
    await in_db_thread(lambda: get_user_model().objects.create(username="kept"))
    assert (await in_db_thread(_where)).startswith("api-db")
    assert await in_db_thread(lambda: get_user_model().objects.filter(username="kept").exists())


async def test_through_wsgi_a_step_stays_off_the_kept_threads():
    serving(RequestFactory().get("/"))
    assert not (await in_db_thread(_where)).startswith("api-db")


async def test_a_step_whose_database_failed_leaves_a_fresh_connection_for_the_next():
    serving(ASGIishRequest())

    def fails():
        connection.ensure_connection()
        raise DatabaseError("gone")

    with pytest.raises(DatabaseError):
        await in_db_thread(fails)
    # Every kept thread still answers (the failed one reconnects).
    for _ in range(8):
        assert await in_db_thread(lambda: get_user_model().objects.count()) == 0
