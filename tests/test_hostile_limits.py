"""The probe's low and informational findings, each held: the WebSocket Origin compared by scheme,
host and port; sockets per person capped; status changes rate-limited; oversized bodies refused
before they are read; a Content-Security-Policy on every page (checked in Chromium too) and HSTS
behind https; the deployment guide's limits (open files, proxy timeouts, body size, proxies)."""

import json
import re
import subprocess
import sys

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.authtoken.models import Token

from contactcenter.asgi import application
from tests.support.servers import ROOT, base_env, running_stack

PASSWORD = "correct-horse-1"  # tests.factories.UserFactory's


# --- the WebSocket's Origin ------------------------------------------------------------------------


async def origin_admitted(origin: str | None, host: str = "localhost:8000", *, proxied_https=False) -> bool:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if proxied_https:  # nginx terminated TLS and says so (SECURE_PROXY_SSL_HEADER)
        headers.append((b"x-forwarded-proto", b"https"))
    ws = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
    connected, _ = await ws.connect(timeout=5)
    await ws.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "admitted"),
    [
        ("http://localhost:8000", True),  # the page's own origin
        (None, True),  # not a browser: on to authentication
        ("http://localhost:9999", False),  # another port of the same host (before: admitted)
        ("https://localhost:8000", False),  # another scheme (before: admitted)
        ("http://localhost", False),  # the default port is another port
        ("http://evil.example", False),
        ("null", False),
    ],
)
async def test_the_origin_must_be_the_sites_scheme_host_and_port(origin, admitted):
    assert await origin_admitted(origin) is admitted


@pytest.mark.django_db(transaction=True)
async def test_behind_the_proxy_the_public_origin_is_the_sites(settings):
    settings.PUBLIC_BASE_URL = "https://cc.example.com"
    settings.ALLOWED_HOSTS = ["cc.example.com"]
    behind_nginx = {"host": "cc.example.com", "proxied_https": True}
    assert await origin_admitted("https://cc.example.com", **behind_nginx)
    assert await origin_admitted("https://cc.example.com:443", **behind_nginx)
    assert not await origin_admitted("http://cc.example.com", **behind_nginx)
    assert not await origin_admitted("https://cc.example.com:8443", **behind_nginx)
    # PUBLIC_BASE_URL is the site's origin whatever Host the proxy passes on.
    assert await origin_admitted("https://cc.example.com", host="127.0.0.1:8001")
    # A host outside ALLOWED_HOSTS is no origin of ours, whatever it says about itself.
    assert not await origin_admitted("http://rebound.example", host="rebound.example")


# --- sockets per person ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_one_person_cannot_hold_more_than_their_share_of_sockets(settings, agent, other_agent):
    """Before: one token opened 5,000 sockets on one process."""
    settings.MAX_SOCKETS_PER_USER = 3
    token = await database_sync_to_async(lambda: Token.objects.create(user=agent.user).key)()
    others = await database_sync_to_async(lambda: Token.objects.create(user=other_agent.user).key)()

    async def open_socket(key):
        ws = WebsocketCommunicator(application, f"/ws/dashboard/?token={key}")
        assert (await ws.connect(timeout=10))[0]
        return ws

    sockets = [await open_socket(token) for _ in range(3)]
    for ws in sockets:
        assert (await ws.receive_json_from(timeout=5))["type"] == "snapshot"
    refused = await open_socket(token)
    assert await refused.receive_output(timeout=5) == {"type": "websocket.close", "code": 4429}
    await refused.disconnect()
    someone_else = await open_socket(others)
    assert (await someone_else.receive_json_from(timeout=5))["type"] == "snapshot"
    await sockets.pop().disconnect()
    again = await open_socket(token)  # a closed one frees its place
    assert (await again.receive_json_from(timeout=5))["type"] == "snapshot"
    for ws in [*sockets, someone_else, again]:
        await ws.disconnect()


# --- status changes --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_status_changes_are_rate_limited_per_agent(settings, api_for, agent, other_agent):
    """Each change is broadcast to every dashboard; before, nothing limited how often."""
    settings.STATUS_CHANGES_PER_MINUTE = 5
    api = api_for(agent)
    for n in range(5):
        response = api.patch("/api/me/", {"status": ["away", "available"][n % 2]}, format="json")
        assert response.status_code == 200
    refused = api.patch("/api/me/", {"status": "offline"}, format="json")
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert "Too many status changes" in refused.json()["detail"]
    agent.refresh_from_db()
    assert agent.status == "away"  # the refused change changed nothing
    assert api.get("/api/me/").status_code == 200  # reading is not limited
    assert api_for(other_agent).patch("/api/me/", {"status": "away"}, format="json").status_code == 200


# --- bodies ----------------------------------------------------------------------------------------------


async def test_a_body_declared_over_the_limit_is_refused_unread(settings):
    """Answered 413 from the Content-Length alone: the application never reads a byte of it."""
    sent = []

    async def receive():
        raise AssertionError("the body was read")

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/api/auth/token/", "raw_path": b"/api/auth/token/",
        "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
        "headers": [(b"host", b"localhost"), (b"content-length", str(200 * 1024 * 1024).encode()),
                    (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
    }
    await application(scope, receive, send)
    assert sent[0]["status"] == 413
    assert "larger than" in json.loads(sent[1]["body"])["detail"]


@pytest.mark.django_db
def test_a_body_within_the_limit_goes_through(client, agent):
    response = client.post("/api/auth/token/", json.dumps({"username": "alice", "password": PASSWORD}),
                           content_type="application/json")
    assert response.status_code == 200


# --- headers ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/admin/login/", "/api/docs/", "/api/me/", "/healthz"])
def test_every_response_carries_a_content_security_policy(path):
    policy = Client().get(path)["Content-Security-Policy"]
    directives = dict(re.match(r"\s*(\S+)\s*(.*)", d).groups() for d in policy.split(";"))
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert directives["script-src"].startswith("'self'")
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    if path != "/api/docs/":
        assert directives["script-src"] == "'self'"


@pytest.mark.django_db
def test_the_docs_page_needs_no_inline_script():
    body = Client().get("/api/docs/").content.decode()
    assert not re.search(r"<script>\s*\S", body)  # its start-up script is a file of its own
    script = Client().get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


HSTS_PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(getattr(s, 'SECURE_HSTS_SECONDS', 0) or 0)"
)


def hsts_seconds(**env) -> int:
    result = subprocess.run([sys.executable, "-c", HSTS_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**base_env(DJANGO_SETTINGS_MODULE="contactcenter.settings", DEBUG="false"), **env})
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_hsts_when_the_public_url_is_https():
    assert hsts_seconds(PUBLIC_BASE_URL="https://cc.example.com") == 365 * 24 * 3600
    assert hsts_seconds(PUBLIC_BASE_URL="http://cc.example.com") == 0
    assert hsts_seconds() == 0


@pytest.mark.django_db
def test_hsts_is_sent_on_requests_that_came_over_https(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client().get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in Client().get("/login/")


# --- the deployment guide --------------------------------------------------------------------------------


def test_the_deployment_guide_sets_the_limits_daphne_lacks():
    guide = (ROOT / "docs/deploy.md").read_text()
    assert re.search(r"^LimitNOFILE=\d+", guide, re.M)
    for directive in ("client_header_timeout", "client_body_timeout", "send_timeout", "client_max_body_size",
                      "keepalive_timeout"):
        assert re.search(rf"^\s*{directive}\s+\S+;", guide, re.M), directive
    assert re.search(r"^TRUSTED_PROXY_COUNT=1$", guide, re.M)
    # Daphne's --proxy-headers takes the client-written left-most X-Forwarded-For as the client.
    assert not [line for line in guide.splitlines() if "daphne" in line and "--proxy-headers" in line]


# --- in Chromium: the pages work under the policy ----------------------------------------------------------


@pytest.mark.slow
def test_the_desk_the_wall_and_the_admin_run_under_the_policy_in_chromium(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with running_stack(tmp_path) as stack:
        stack.manage("create_agent", "alice", "--password", PASSWORD, "--address", "+14155550101")
        stack.manage("create_agent", "sam", "--password", PASSWORD, "--address", "+14155550199", "--supervisor")
        stack.manage("shell", "-c", "from django.contrib.auth.models import User; "
                     "User.objects.filter(username='sam').update(is_staff=True, is_superuser=True)")
        daphne = stack.start_daphne()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            context = browser.new_context(base_url=daphne.url)
            page = context.new_page()
            violations = []
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            for username, landing in (("alice", "/agent/"), ("sam", "/supervisor/")):
                page.goto("/login/")
                page.get_by_label("Username").fill(username)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                expect(page).to_have_url(re.compile(f"{landing}$"))
                # The scripts ran and the socket connected: both are what the policy governs.
                expect(page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=15_000)
                page.screenshot(path=str(tmp_path / f"{username}.png"))
                if username == "alice":
                    page.get_by_role("button", name="Sign out").click()
            page.goto("/admin/agents/agent/")
            expect(page.get_by_role("link", name="alice")).to_be_visible()
            page.goto("/admin/calls/phloapp/add/")
            expect(page.get_by_label("Auth token")).to_be_visible()
            browser.close()
    assert violations == []
