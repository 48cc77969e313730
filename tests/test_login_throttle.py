"""The sign-in throttle holds across doors, usernames, processes and races (agents/login_guard.py,
agents/rate_limits.py): counted per username and per client address, before the password is
checked, in counters every process shares; the client address from the trusted proxies only; at
most a few passwords hashed at once."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from agents import rate_limits
from agents.login_guard import (
    MAX_CONCURRENT_HASHES,
    MAX_FAILURES,
    MAX_FAILURES_PER_ADDRESS,
    client_address,
    password_hash_slots,
)
from agents.models import RateCounter
from agents.rate_limits import DatabaseCounters, RedisCounters
from tests.factories import AgentFactory
from tests.support.servers import ROOT, running_stack

PASSWORD = "correct-horse-1"  # tests.factories.UserFactory's


def token_attempt(username: str, password: str, **headers):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json",
                            **headers)


# --- the counters -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_database_counter_counts_in_a_window_and_starts_again_after_it():
    store = DatabaseCounters()
    assert [store.hit("k", 60) for _ in range(3)] == [1, 2, 3]
    store.unhit("k")
    assert store.hit("k", 60) == 3
    RateCounter.objects.filter(name="k").update(window_ends=timezone.now() - timedelta(seconds=1))
    assert store.hit("k", 60) == 1  # a finished window starts again
    store.unhit("k")
    store.unhit("k")  # never below zero
    assert RateCounter.objects.get(name="k").hits == 0
    store.clear("k")
    assert not RateCounter.objects.exists()


@pytest.mark.django_db
def test_finished_windows_are_purged():
    store = DatabaseCounters()
    store.hit("old", 60)
    store.hit("new", 60)
    RateCounter.objects.filter(name="old").update(window_ends=timezone.now() - timedelta(seconds=1))
    assert rate_limits.purge_expired() == []
    assert list(RateCounter.objects.values_list("name", flat=True)) == ["new"]


def test_a_redis_counter_counts_keeps_its_expiry_and_never_makes_an_endless_key(redis_server):
    store = RedisCounters(redis_server.url)
    key = f"test-{id(store)}"
    assert [store.hit(key, 60) for _ in range(3)] == [1, 2, 3]
    ttl = store.client.ttl(rate_limits.REDIS_PREFIX + key)
    assert 0 < ttl <= 60
    store.unhit(key)
    assert store.hit(key, 60) == 3
    assert 0 < store.client.ttl(rate_limits.REDIS_PREFIX + key) <= 60  # INCR kept the window's end
    store.client.delete(rate_limits.REDIS_PREFIX + key)
    store.unhit(key)  # a DECR here would create a key without expiry
    assert store.client.exists(rate_limits.REDIS_PREFIX + key) == 0


def test_thirty_hits_at_once_count_one_to_thirty(redis_server):
    """The race the probe won: a read-then-write counter lets a burst through. Each hit is one
    atomic step, so thirty threads at once see thirty different counts. (The database's counter
    is raced by real processes below.)"""
    store = RedisCounters(redis_server.url)
    key = f"race-{id(store)}"
    barrier = threading.Barrier(30)

    def hit(_):
        barrier.wait()
        return store.hit(key, 60)

    with ThreadPoolExecutor(30) as pool:
        counts = list(pool.map(hit, range(30)))
    assert sorted(counts) == list(range(1, 31))


# --- the doors ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_username_does_not_start_afresh_from_the_same_address(agent):
    """Before: each username had its own ten tries per address, so one address could guess
    without end by moving on to the next name."""
    for n in range(MAX_FAILURES_PER_ADDRESS):
        assert token_attempt(f"guess{n}", "wrong-password").status_code == 400
    refused = token_attempt("alice", PASSWORD)
    assert refused.status_code == 429 and refused["Retry-After"]
    # Another address is not affected.
    assert token_attempt("alice", PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 200


@pytest.mark.django_db
def test_a_username_is_refused_from_every_address_after_its_failures(agent):
    for n in range(MAX_FAILURES):
        token_attempt("alice", "wrong-password", REMOTE_ADDR=f"198.51.100.{n + 1}")
    assert token_attempt("alice", PASSWORD, REMOTE_ADDR="198.51.100.200").status_code == 429


@pytest.mark.django_db
def test_successful_logins_never_lock_an_office_out(agent):
    for _ in range(MAX_FAILURES_PER_ADDRESS + 5):
        assert token_attempt("alice", PASSWORD).status_code == 200


@pytest.mark.django_db
def test_the_client_address_comes_from_the_trusted_proxies_never_the_left_most_header(settings, agent):
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_address(request) == "127.0.0.1"  # no proxy trusted: the header means nothing
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request) == "203.0.113.9"  # what nginx saw, not what the client wrote
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(request) == "6.6.6.6"
    settings.TRUSTED_PROXY_COUNT = 3
    assert client_address(request) == "127.0.0.1"  # fewer hops than proxies: it did not come through them
    # A guesser writing a new left-most address each time is still one address.
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(MAX_FAILURES_PER_ADDRESS):
        token_attempt(f"guess{n}", "wrong-password", REMOTE_ADDR="127.0.0.1",
                      HTTP_X_FORWARDED_FOR=f"10.0.{n}.1, 203.0.113.9")
    assert token_attempt("alice", PASSWORD, REMOTE_ADDR="127.0.0.1",
                         HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.9").status_code == 429


@pytest.mark.django_db
def test_while_every_hash_slot_is_taken_a_login_is_told_to_come_back(agent):
    """At most MAX_CONCURRENT_HASHES passwords are checked at once in a process; the rest wait a
    moment, then get 503 with Retry-After, their attempt given back."""
    for _ in range(MAX_CONCURRENT_HASHES):
        assert password_hash_slots.acquire(timeout=1)
    try:
        busy = token_attempt("alice", PASSWORD)
        page = Client().post("/login/", {"username": "alice", "password": PASSWORD})
    finally:
        for _ in range(MAX_CONCURRENT_HASHES):
            password_hash_slots.release()
    assert busy.status_code == 503 and busy["Retry-After"] == "1"
    assert "Too many sign-ins at once" in busy.json()["detail"]
    assert page.status_code == 503 and b"Too many sign-ins at once" in page.content
    assert token_attempt("alice", PASSWORD).status_code == 200
    assert not RateCounter.objects.filter(hits__gt=0).exists()  # nothing counted against anyone


# --- several processes, at once -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("store", ["database", "redis"])
def test_thirty_wrong_passwords_at_once_on_two_processes_get_ten_checks(tmp_path, redis_server, store):
    """The probe sent 30 wrong passwords at once and got no 429. Here they go to two Daphne
    processes sharing one database (and Redis, when REDIS_URL is set): exactly MAX_FAILURES are
    checked (400), the rest refused (429), and then the right password is refused too."""
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings"}  # a fast hasher: the race is in the counting
    if store == "redis":
        env["REDIS_URL"] = redis_server.url
    with running_stack(tmp_path, **env) as stack:
        stack.manage("create_agent", "victim", "--password", PASSWORD, "--address", "+14155550111")
        servers = [stack.start_daphne(), stack.start_daphne()]

        async def attempt(client, n, password):
            server = servers[n % 2]
            response = await client.post(f"{server.url}/api/auth/token/",
                                         json={"username": "victim", "password": password})
            return response.status_code

        async def burst():
            async with httpx.AsyncClient(timeout=30) as client:
                statuses = await asyncio.gather(*(attempt(client, n, f"wrong-{n}") for n in range(30)))
                after = await attempt(client, 0, PASSWORD)
            return statuses, after

        statuses, after = asyncio.run(burst())
    assert sorted(statuses) == [400] * MAX_FAILURES + [429] * (30 - MAX_FAILURES), statuses
    assert after == 429
    assert ROOT.exists()


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user("other", password=PASSWORD)


@pytest.mark.django_db
def test_the_login_page_and_the_token_endpoint_share_the_per_address_count(other_user):
    AgentFactory(user__username="alice")
    client = Client()
    for n in range(MAX_FAILURES_PER_ADDRESS // 2):
        client.post("/login/", {"username": f"page-guess{n}", "password": "wrong"})
        token_attempt(f"api-guess{n}", "wrong")
    assert client.post("/login/", {"username": "other", "password": PASSWORD}).status_code == 429
