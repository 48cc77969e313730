"""Fixed-window rate limits that hold across processes and races.

A limit counts hits per "who" (a username, a client address, an agent) in windows of a few
minutes. Every hit is one atomic increment in a store all processes share, and the answer is
the count after it: thirty requests at once get the counts 1 to 30, so exactly the first `most`
go through, wherever they land. (A read-then-write counter, or one in each process's memory,
lets a burst through: docs/reliability.md, "The second probe".)

The store is Redis when REDIS_URL is set (an INCR in a MULTI), else the database's
`agents.RateCounter` table (an upsert in one transaction). Should Redis fail, the database
counts meanwhile: a limit is never switched off by an outage.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from agents.models import RateCounter

logger = logging.getLogger(__name__)

REDIS_PREFIX = "cc:rate:"


@dataclass(frozen=True)
class Limit:
    """At most `most` hits per `window_seconds` for each who."""

    scope: str
    most: int
    window_seconds: int

    def key(self, who: str) -> str:
        # Hashed: `who` is whatever was typed (a username) and may be long or odd.
        digest = hashlib.sha256(who.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        return f"{self.scope}:{digest}"


def take(limit: Limit, who: str) -> bool:
    """Count one hit; whether it is within the limit."""
    return _store().hit(limit.key(who), limit.window_seconds) <= limit.most


def give_back(limit: Limit, who: str) -> None:
    """Uncount one hit taken earlier (one that turned out not to count, such as a good password)."""
    _store().unhit(limit.key(who))


def clear(limit: Limit, who: str) -> None:
    _store().clear(limit.key(who))


def purge_expired() -> list[dict]:
    """Drop the database's finished windows (Redis expires its own); a periodic job, so it
    returns no live messages."""
    RateCounter.objects.filter(window_ends__lte=timezone.now()).delete()
    return []


class DatabaseCounters:
    """Counts in `agents.RateCounter`: one upsert per hit, inside a transaction that also reads
    the result, so the row stays locked between the two (PostgreSQL's row lock; SQLite takes the
    write lock at BEGIN, see contactcenter/settings.py)."""

    def hit(self, key: str, window_seconds: int) -> int:
        now = timezone.now()
        table = connection.ops.quote_name(RateCounter._meta.db_table)
        adapt = connection.ops.adapt_datetimefield_value
        with transaction.atomic(), connection.cursor() as cursor:
            # A running window counts on; a finished one starts again at 1.
            cursor.execute(
                f"INSERT INTO {table} (name, hits, window_ends) VALUES (%s, 1, %s) "
                f"ON CONFLICT (name) DO UPDATE SET "
                f"hits = CASE WHEN {table}.window_ends > %s THEN {table}.hits + 1 ELSE 1 END, "
                f"window_ends = CASE WHEN {table}.window_ends > %s THEN {table}.window_ends "
                f"ELSE excluded.window_ends END",
                [key, adapt(now + timedelta(seconds=window_seconds)), adapt(now), adapt(now)],
            )
            cursor.execute(f"SELECT hits FROM {table} WHERE name = %s", [key])
            return cursor.fetchone()[0]

    def unhit(self, key: str) -> None:
        RateCounter.objects.filter(name=key, hits__gt=0, window_ends__gt=timezone.now()).update(hits=F("hits") - 1)

    def clear(self, key: str) -> None:
        RateCounter.objects.filter(name=key).delete()


# Decrement only a count that still exists: a DECR of an expired key would make one without a
# time to live, a count that never ends.
_UNHIT = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"


class RedisCounters:
    """Counts in Redis: the window starts with SET NX EX, and INCR keeps its time to live."""

    def __init__(self, url: str) -> None:
        import redis

        self.errors = redis.RedisError
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.unhit_script = self.client.register_script(_UNHIT)
        self.fallback = DatabaseCounters()

    def hit(self, key: str, window_seconds: int) -> int:
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.set(REDIS_PREFIX + key, 0, ex=window_seconds, nx=True)
            pipe.incr(REDIS_PREFIX + key)
            return pipe.execute()[1]
        except self.errors as exc:
            logger.warning("rate limits counted in the database: Redis failed (%s)", type(exc).__name__)
            return self.fallback.hit(key, window_seconds)

    def unhit(self, key: str) -> None:
        try:
            self.unhit_script(keys=[REDIS_PREFIX + key])
        except self.errors:
            self.fallback.unhit(key)

    def clear(self, key: str) -> None:
        with contextlib.suppress(self.errors):
            self.client.delete(REDIS_PREFIX + key)
        self.fallback.clear(key)


@functools.cache
def _store_for(redis_url: str) -> DatabaseCounters | RedisCounters:
    return RedisCounters(redis_url) if redis_url else DatabaseCounters()


def _store() -> DatabaseCounters | RedisCounters:
    return _store_for(settings.REDIS_URL)
