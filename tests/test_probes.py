"""/healthz, /readyz and /metrics answer a probe on any Host; everything else keeps the host check
(docs/operations.md). In-process first, then a real Daphne with a production ALLOWED_HOSTS, probed by
address as a load balancer does."""

from __future__ import annotations

import re

import httpx
import pytest
from django.test import AsyncClient, Client

import contactcenter.health
from tests.support.servers import RedisServer, Stack

pytestmark = pytest.mark.django_db

FOREIGN_HOST = "10.0.0.7:8001"  # the process's own address, as a load balancer sends it


def test_liveness_answers_on_any_host_and_checks_nothing(client):
    response = client.get("/healthz", HTTP_HOST=FOREIGN_HOST)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_reports_the_database_and_the_channel_layer(client):
    response = client.get("/readyz", HTTP_HOST=FOREIGN_HOST)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["channel_layer"]) == ("ok", "ok", "ok")


def test_readiness_fails_when_the_database_does_not_answer(client, monkeypatch):
    def broken():
        raise ConnectionError("database down")

    monkeypatch.setattr(contactcenter.health, "_select_one", broken)
    response = client.get("/readyz", HTTP_HOST=FOREIGN_HOST)
    assert response.status_code == 503
    assert response.json()["database"] == "error: ConnectionError"


def test_readiness_stays_200_when_only_the_channel_layer_fails(client, monkeypatch):
    class SilentLayer:
        async def group_send(self, group, message):
            raise ConnectionRefusedError

    monkeypatch.setattr(contactcenter.health, "get_channel_layer", SilentLayer)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["channel_layer"] == "error: ConnectionRefusedError"


def test_a_hung_database_is_reported_within_the_probe_time(client, monkeypatch):
    import time

    monkeypatch.setattr(contactcenter.health, "DATABASE_SECONDS", 0.2)
    monkeypatch.setattr(contactcenter.health, "_select_one", lambda: time.sleep(1))
    started = time.monotonic()
    response = client.get("/readyz")
    assert response.status_code == 503 and time.monotonic() - started < 1.0 + 0.5
    assert response.json()["database"] == "error: no answer within 0.2 s"


def test_metrics_answer_on_any_host_with_the_process_series(client, settings):
    settings.METRICS_TOKEN = ""
    text = client.get("/metrics", HTTP_HOST=FOREIGN_HOST, REMOTE_ADDR="127.0.0.1").content.decode()
    for series in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                   "process_start_time_seconds", "python_info"):
        assert re.search(rf"^{series}(\{{.*\}})? \S+$", text, re.MULTILINE), series
    assert re.search(r'^desk_build_info\{.*version="[^"]+".*\} 1\.0$', text, re.MULTILINE)


def test_metrics_keep_their_token_on_any_host(client, settings):
    settings.METRICS_TOKEN = "scrape-token"
    assert client.get("/metrics", HTTP_HOST=FOREIGN_HOST, REMOTE_ADDR="127.0.0.1").status_code == 401
    scraped = client.get("/metrics", HTTP_HOST=FOREIGN_HOST, HTTP_AUTHORIZATION="Bearer scrape-token")
    assert scraped.status_code == 200


@pytest.mark.parametrize("path", ["/login/", "/api/me/", "/healthz/", "/admin/login/"])
def test_everything_else_keeps_the_host_check(client, path):
    assert client.get(path, HTTP_HOST=FOREIGN_HOST).status_code == 400


def test_only_get_and_head_are_probes(client):
    assert client.head("/healthz", HTTP_HOST=FOREIGN_HOST).status_code == 200
    assert client.post("/healthz", HTTP_HOST=FOREIGN_HOST).status_code == 400  # not a probe: host checked
    assert client.post("/healthz").status_code == 404


def test_probes_carry_the_security_headers(client):
    response = client.get("/readyz", HTTP_HOST=FOREIGN_HOST)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


async def test_probes_on_the_async_path():
    client = AsyncClient()
    assert (await client.get("/healthz", headers={"host": FOREIGN_HOST})).status_code == 200
    assert (await client.get("/readyz", headers={"host": FOREIGN_HOST})).status_code == 200
    assert (await client.get("/login/", headers={"host": FOREIGN_HOST})).status_code == 400


def test_the_sync_client_sees_the_same():
    assert Client().get("/healthz", HTTP_HOST="anything.invalid").status_code == 200


# --- a real Daphne with production settings ---------------------------------------------------------


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    redis = RedisServer().start()
    stack = Stack(
        tmp_path_factory.mktemp("probes"), DEBUG="false", SECRET_KEY="a-production-like-secret-key-0123456789",
        ALLOWED_HOSTS="cc.example.com", PUBLIC_BASE_URL="https://cc.example.com", REDIS_URL=redis.url,
        LOG_LEVEL="WARNING",
    ).setup()
    try:
        yield stack.start_daphne(), redis
    finally:
        stack.stop()
        redis.stop()


@pytest.mark.slow
def test_a_load_balancer_probes_each_process_by_address(production):
    daphne, redis = production
    with httpx.Client(base_url=daphne.url, timeout=10) as http:
        health = http.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = http.get("/readyz", headers={"Host": FOREIGN_HOST})
        assert ready.status_code == 200 and ready.json()["channel_layer"] == "ok"
        metrics = http.get("/metrics")  # loopback, no token set: answered
        assert metrics.status_code == 200 and "process_resident_memory_bytes" in metrics.text

        # Anything else still needs a name from ALLOWED_HOSTS (and https, through the proxy).
        assert http.get("/login/").status_code == 400
        site = http.get("/login/", headers={"Host": "cc.example.com", "X-Forwarded-Proto": "https"})
        assert site.status_code == 200

        # Redis away: the process still takes work, so it stays in rotation; the JSON says why.
        redis.stop()
        ready = http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["database"] == "ok" and ready.json()["channel_layer"].startswith("error")
        assert http.get("/healthz").status_code == 200

    log = daphne.log()
    assert log.count("ERROR django.security.DisallowedHost") == 1, log  # the /login/ above; never a probe


async def test_the_new_middleware_run_inline_on_the_event_loop(caplog, settings):
    """Django adapts (a thread hop per request) any middleware that cannot run as it is called;
    with DEBUG on, it says so in a debug line while it builds the handler."""
    settings.DEBUG = True
    caplog.set_level("DEBUG", logger="django.request")
    assert (await AsyncClient().get("/api/me/")).status_code == 401
    adapted = [r.getMessage() for r in caplog.records if "adapted for middleware" in r.getMessage()]
    assert adapted == []  # none in the whole stack, the probes and no-store included
