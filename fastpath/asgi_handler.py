"""Django's ASGI handler without a thread for a request that needs none.

Under ASGI, Django's `ASGIHandler.handle` sends `request_started` through `sync_to_async` (its
receivers are sync), and closes the response through `sync_to_async` too (closing sends
`request_finished`). Each request runs in a `ThreadSensitiveContext` of its own, so the first of
those trips starts a thread for the request, and the context's end starts another to join it:
two threads and two trips per request, even for a view that runs no sync code of Django's at all
(the callbacks, fastpath/group_commit.py).

What the trips are for: Django's receivers of both signals reset the request's query log, URLconf
and caches, and check and close the database connections it opened, on the thread that opened
them. Where no thread was started for the request, no database connection is open and no cache
does I/O to close, that is nothing a thread is needed for; then they run here, inline on the
event loop. Otherwise (a view that ran sync code on a thread of its own, the admin's), or when a
receiver not Django's listens, or for a streamed response whose closing may run the stream's own
code, each goes to the request's thread exactly as in Django.

`handle` is Django 5.2's, with its four signal sends and closings going through `_send` and
`_close` as the only change; tests/test_fastpath.py fails when Django's changes.
"""

from __future__ import annotations

import asyncio

import django
from asgiref.sync import AsyncToSync, SyncToAsync, sync_to_async
from django.core import signals
from django.core.cache import caches, close_caches
from django.core.cache.backends.base import BaseCache
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import reset_urlconf
from django.db import close_old_connections, connections, reset_queries
from django.dispatch import Signal
from django.urls import set_script_prefix

# Django's own receivers of request_started and request_finished.
DJANGOS_RECEIVERS = frozenset({reset_queries, close_old_connections, close_caches, reset_urlconf})


def asgi_application() -> ASGIHandler:
    """As `django.core.asgi.get_asgi_application`, with this handler."""
    django.setup(set_prefix=False)
    return InlineSignalsASGIHandler()


def _no_work_for_a_thread(signal: Signal, sender) -> bool:
    """Only Django's receivers listen; no thread ran this request's sync code (Django keeps database
    connections per thread, so those opened there are seen only from there); and here, no
    database connection is open and closing the caches does nothing (memcached's disconnects)."""
    sync_receivers, async_receivers = signal._live_receivers(sender)
    if async_receivers or not DJANGOS_RECEIVERS.issuperset(sync_receivers):
        return False
    if getattr(AsyncToSync.executors, "current", None) is not None:
        return False  # served under async_to_sync: sync code ran on the caller's thread
    requests_context = SyncToAsync.thread_sensitive_context.get(None)
    if requests_context is not None and requests_context in SyncToAsync.context_to_thread_executor:
        return False
    if any(conn.connection is not None for conn in connections.all(initialized_only=True)):
        return False
    return all(type(cache).close is BaseCache.close for cache in caches.all(initialized_only=True))


async def _send(signal: Signal, sender, **named) -> None:
    if _no_work_for_a_thread(signal, sender):
        signal.send(sender=sender, **named)
    else:
        await signal.asend(sender=sender, **named)


async def _close(response) -> None:
    """Close the response (which sends request_finished)."""
    if not response.streaming and _no_work_for_a_thread(signals.request_finished, response._handler_class):
        response.close()
    else:
        await sync_to_async(response.close)()


class InlineSignalsASGIHandler(ASGIHandler):
    async def handle(self, scope, receive, send):
        """
        Handles the ASGI request. Called via the __call__ method.
        """
        # Receive the HTTP request body as a stream object.
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        # Request is complete and can be served.
        set_script_prefix(get_script_prefix(scope))
        await _send(signals.request_started, sender=self.__class__, scope=scope)
        # Get the request and check for basic issues.
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            await _close(error_response)
            return

        async def process_request(request, send):
            response = await self.run_get_response(request)
            try:  # noqa: SIM105 - Django's code as written
                await self.send_response(response, send)
            except asyncio.CancelledError:
                # Client disconnected during send_response (ignore exception).
                pass

            return response

        # Try to catch a disconnect while getting response.
        tasks = [
            # Check the status of these tasks and (optionally) terminate them
            # in this order. The listen_for_disconnect() task goes first
            # because it should not raise unexpected errors that would prevent
            # us from cancelling process_request().
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        # Now wait on both tasks (they may have both finished by now).
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    # Ignore client disconnects.
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                # Allow views to handle cancellation.
                task.cancel()
                try:  # noqa: SIM105 - Django's code as written
                    await task
                except asyncio.CancelledError:
                    # Task re-raised the CancelledError as expected.
                    pass

        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await _send(signals.request_finished, sender=self.__class__)
        else:
            await _close(response)

        body_file.close()
