"""The intake thread: one thread applies every callback of this process, on a database connection
it keeps, and commits the callbacks that queued up while the last transaction ran together, in one
transaction (group commit; docs/benchmarks.md).

Why one thread: Django runs each request's sync code in a thread of its own, with a connection
opened and closed per request (for SQLite: register functions, PRAGMAs, and a WAL checkpoint when
the last connection closes), and a burst of callbacks would become a crowd of threads contending
for SQLite's one write lock and for the GIL. Queued here they are applied in arrival order, which
is all SQLite can do anyway; with PostgreSQL, several processes still apply callbacks concurrently.

Why together: under load, callbacks arrive while one is being applied; each transaction of its
own costs a BEGIN and a COMMIT (and, on PostgreSQL, a round trip and a WAL flush each). A batch is
applied in one transaction, each callback inside a savepoint of its own, so the rules of one
callback are those of a transaction of its own: a repeat (its dedupe key's unique index refuses
it) rolls back only that callback's changes (calls/intake/apply.py), and an error in one
callback is that callback's 500 alone. Every callback is answered only after the commit that
holds it. Should the batch's transaction fail as a whole (the database went away, a lock timed
out), nothing of it was committed, and each callback is tried again alone, as before batching.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from django.db import DatabaseError, OperationalError, connection, transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A bound on one transaction: a backlog is worked off in several commits, each answering its callbacks.
MAX_BATCH = 64
LOCKED_PATIENCE_SECONDS = 2.0


class GroupCommitThread:
    """A queue of work and the one thread that does it, a batch per transaction."""

    def __init__(self, name: str, max_batch: int = MAX_BATCH) -> None:
        self.name = name
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Callable[[], object], Future]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()

    def submit(self, work: Callable[[], T]) -> Future[T]:
        """Queue `work` (sync; it may use the ORM and nested `transaction.atomic`); its future
        resolves once the transaction that applied it has committed."""
        future: Future[T] = Future()
        self._queue.put((work, future))
        if self._thread is None:
            with self._started:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                    self._thread.start()
        return future

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batch = [(work, future) for work, future in batch if future.set_running_or_notify_cancel()]
            if batch:
                self._apply(batch)

    def _apply(self, batch: list[tuple[Callable[[], object], Future]]) -> None:
        if len(batch) > 1:
            try:
                outcomes = _together(batch)
            except DatabaseError:
                # Nothing of the batch was committed: try each alone, so one bad callback (or a
                # moment without a database) fails only what it must.
                logger.warning("a group commit of %d callbacks failed; applying them one by one", len(batch),
                               exc_info=True)
                connection.close()
            else:
                for (_, future), (result, error) in zip(batch, outcomes, strict=True):
                    _settle(future, result, error)
                return
        for work, future in batch:
            try:
                result = _alone(work)
            except BaseException as exc:
                if isinstance(exc, DatabaseError):
                    connection.close()  # never reuse a connection that failed
                _settle(future, None, exc)
            else:
                _settle(future, result, None)


def _alone(work: Callable[[], T]) -> T:
    """`work` in a transaction of its own. SQLite in shared-cache mode (Django's in-memory test
    database) refuses a table another connection is reading at once ("database table is locked")
    instead of waiting as the busy timeout makes it do otherwise: such a refusal is tried again
    for up to LOCKED_PATIENCE_SECONDS, as a busy database would be waited for."""
    deadline = time.monotonic() + LOCKED_PATIENCE_SECONDS
    while True:
        try:
            with transaction.atomic():
                return work()
        except OperationalError as exc:
            if "table is locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _together(batch: list[tuple[Callable[[], object], Future]]) -> list[tuple[object, BaseException | None]]:
    """Every work of the batch in one transaction, each in a savepoint of its own. Raises
    DatabaseError when the transaction cannot go on or commit (then nothing of it is kept)."""
    outcomes: list[tuple[object, BaseException | None]] = []
    with transaction.atomic():
        for work, _ in batch:
            try:
                with transaction.atomic():
                    outcomes.append((work(), None))
            except DatabaseError:
                raise
            except Exception as exc:  # this callback's own fault: its savepoint is rolled back
                outcomes.append((None, exc))
    return outcomes


def _settle(future: Future, result: object, error: BaseException | None) -> None:
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
