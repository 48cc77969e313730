"""The API's database steps on a few threads that keep their connections (docs/benchmarks.md,
"Action overhead").

Under ASGI, Django runs a request's sync code on a thread made for that request, which opens a
database connection of its own and closes it when the request ends (for SQLite: a connection,
its functions and PRAGMAs, every request). An action has three such steps (who is asking, may
they act, apply and record); here they run on threads that live as long as the process and keep
their connections, as the callback intake does. A step's transaction is its own, as before.

Served through WSGI (Django's test client), a view runs under a sync caller whose transaction
(a test's) its steps must stay inside: there they keep running on the caller's thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError, connection

T = TypeVar("T")

# Enough for the API's short steps side by side; none of them waits on PHLO.
THREADS = 4

_kept = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="api-db")
_served_by_asgi: ContextVar[bool] = ContextVar("served_by_asgi", default=False)


def serving(request) -> None:
    """Note, for the steps of this request, how it is served (call at the start of an async view)."""
    _served_by_asgi.set(not isinstance(request, WSGIRequest))


async def in_db_thread(step: Callable[..., T], *args, **kwargs) -> T:
    """Run a sync database step: on a kept thread when served through ASGI, else as sync_to_async would."""
    if not _served_by_asgi.get():
        return await sync_to_async(step)(*args, **kwargs)
    return await asyncio.wrap_future(_kept.submit(_on_kept_connection, step, *args, **kwargs))


def _on_kept_connection(step: Callable[..., T], *args, **kwargs) -> T:
    try:
        return step(*args, **kwargs)
    except DatabaseError:
        connection.close()  # never reuse a connection that failed: the next step opens a fresh one
        raise


class Lane:
    """One kept thread, and its connection, for one kind of background work: its steps never wait
    behind another kind's on Django's one thread-sensitive worker (the router's behind the queue's
    figures, docs/benchmarks.md "Routing on its own lane"). Steps run one after another, each with its own
    transaction, as on that worker."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, step: Callable[..., T], *args, **kwargs) -> T:
        return await asyncio.wrap_future(self._executor.submit(_on_kept_connection, step, *args, **kwargs))
