"""fastpath/asgi_handler.py: a request whose context has no database connection open gets no
thread for Django's request signals; one whose view opened a connection on a thread still has
it checked and closed on that thread, as Django does."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import SyncToAsync, async_to_sync
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_started
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import JsonResponse, StreamingHttpResponse
from django.urls import path

from agents.models import Agent
from fastpath.asgi_handler import InlineSignalsASGIHandler

seen: dict = {}


async def an_async_view(request):
    return JsonResponse({"served": "inline"})


def a_sync_view(request):
    seen["view_thread"] = threading.get_ident()
    seen["agents"] = Agent.objects.count()  # opens this thread's connection
    seen["wrapper"] = connections["default"]
    return JsonResponse({"served": "on a thread"})


async def a_streamed_view(request):
    async def chunks():
        yield b"streamed"

    return StreamingHttpResponse(chunks())


urlpatterns = [path("async/", an_async_view), path("sync/", a_sync_view), path("streamed/", a_streamed_view)]


def serve(handler: ASGIHandler, url: str, *, under_async_to_sync: bool = False) -> tuple[int, bytes]:
    """Serve one GET from a thread of its own, as a server's loop would: its context starts empty
    (this test's thread has the test database's connection open). Or, with `under_async_to_sync`,
    as a script drives an ASGI app from sync code."""
    served: list = []

    def run():
        try:
            if under_async_to_sync:
                seen["caller_thread"] = threading.get_ident()
                served.append(async_to_sync(_serve)(handler, url))
            else:
                served.append(asyncio.run(_serve(handler, url)))
        except BaseException as exc:
            served.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert served, "the request was not served within 30 s"
    if isinstance(served[0], BaseException):
        raise served[0]
    return served[0]


async def _serve(handler: ASGIHandler, url: str) -> tuple[int, bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": url, "raw_path": url.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    asked = asyncio.Event()
    sent: list[dict] = []

    async def receive():
        if not asked.is_set():
            asked.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays; the handler stops listening once it has answered

    async def send(message):
        sent.append(message)

    await handler(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def trips_to_a_thread(monkeypatch) -> list[str]:
    """Each `sync_to_async` call made while serving, by the name of what it ran."""
    trips: list[str] = []
    original = SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        trips.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    return trips


@pytest.mark.urls(__name__)
def test_a_view_that_runs_no_sync_code_gets_no_thread(trips_to_a_thread):
    status, body = serve(InlineSignalsASGIHandler(), "/async/")
    assert (status, body) == (200, b'{"served": "inline"}')
    assert trips_to_a_thread == []

    # Django's own handler takes two trips for the same request: the signal, then closing.
    trips_to_a_thread.clear()
    assert serve(ASGIHandler(), "/async/") == (200, b'{"served": "inline"}')
    assert len(trips_to_a_thread) == 2, trips_to_a_thread


@pytest.mark.urls(__name__)
def test_a_streamed_response_and_a_receiver_not_djangos_go_to_a_thread_as_in_django(trips_to_a_thread):
    # Closing a stream may run the stream's own code.
    assert serve(InlineSignalsASGIHandler(), "/streamed/") == (200, b"streamed")
    assert trips_to_a_thread == ["HttpResponseBase.close"]

    # A receiver of request_started that is not Django's may do anything: it is not run on the loop.
    heard_on: list[bool] = []

    def receiver(**kwargs):
        heard_on.append(_on_an_event_loop())

    request_started.connect(receiver)
    try:
        trips_to_a_thread.clear()
        assert serve(InlineSignalsASGIHandler(), "/async/") == (200, b'{"served": "inline"}')
    finally:
        request_started.disconnect(receiver)
    assert heard_on == [False]
    # That trip started the request's thread, so its closing goes there too, as in Django.
    assert trips_to_a_thread == ["Signal.asend.<locals>.sync_send", "HttpResponseBase.close"]


def _on_an_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def checked_on(monkeypatch) -> list[int]:
    """The threads on which the sync view's connection was checked (and closed if due)."""
    threads: list[int] = []
    check = BaseDatabaseWrapper.close_if_unusable_or_obsolete

    def spied(self):
        if self is seen.get("wrapper"):
            threads.append(threading.get_ident())
        return check(self)

    monkeypatch.setattr(BaseDatabaseWrapper, "close_if_unusable_or_obsolete", spied)
    seen.clear()
    return threads


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
def test_a_connection_opened_on_the_requests_thread_is_checked_and_closed_there(checked_on):
    status, body = serve(InlineSignalsASGIHandler(), "/sync/")
    assert (status, body) == (200, b'{"served": "on a thread"}')
    assert seen["view_thread"] != threading.get_ident()
    # request_finished reached the view's connection, on the thread that opened it.
    assert checked_on == [seen["view_thread"]]


@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
def test_under_async_to_sync_the_callers_connection_is_checked_on_the_callers_thread(checked_on):
    """A script driving the application from sync code: the view's sync code runs on the caller's
    thread, with no thread of the request's own."""
    status, body = serve(InlineSignalsASGIHandler(), "/sync/", under_async_to_sync=True)
    assert (status, body) == (200, b'{"served": "on a thread"}')
    assert seen["view_thread"] == seen["caller_thread"]
    assert checked_on == [seen["caller_thread"]]
