"""With DEBUG off (as in this test run): security headers on every response."""

import pytest

from tests.test_settings import settings_with

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/me/", "/healthz", "/callbacks/plivo/nope/"])
def test_security_headers(client, path):
    response = client.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_cookies_are_secure_behind_https():
    loaded = settings_with(PUBLIC_BASE_URL="https://cc.example.com", DEBUG="false")
    assert loaded["secure_cookies"] == [True, True]


def test_cookies_are_not_forced_secure_on_plain_http_loopback():
    assert settings_with(DEBUG="false")["secure_cookies"] == [False, False]
