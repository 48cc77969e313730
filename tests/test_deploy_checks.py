"""`manage.py check --deploy` finds the middleware by class wherever it lives, and is clean with
production settings (docs/deploy.md)."""

from __future__ import annotations

import subprocess

from contactcenter.checks import check_middleware_by_class
from tests.support.servers import PYTHON, ROOT, base_env

PRODUCTION = {
    "DEBUG": "false", "SECRET_KEY": "kq0J4xY2-production-like-secret-key-with-enough-entropy-3fZ9",
    "ALLOWED_HOSTS": "cc.example.com", "PUBLIC_BASE_URL": "https://cc.example.com",
    "DATABASE_URL": "postgres://contactcenter:pw@127.0.0.1:5432/contactcenter", "REDIS_URL": "redis://127.0.0.1:6379/0",
    "TRUSTED_PROXY_COUNT": "1",
}


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, capture_output=True,
        text=True, timeout=120, env=base_env(**env),
    )


def test_production_settings_pass_every_deploy_check():
    result = check_deploy(**PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_https_the_checks_that_depend_on_the_middleware_speak():
    result = check_deploy(**{**PRODUCTION, "PUBLIC_BASE_URL": ""})
    assert result.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W016"):  # HSTS, SSL redirect, CSRF cookie
        assert warning in result.stderr


def ids(messages) -> list[str]:
    return sorted(message.id for message in messages)


def test_a_missing_middleware_is_found_by_class(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith(".CsrfViewMiddleware")]
    assert "desk.W003" in ids(check_middleware_by_class(None))


def test_a_subclass_under_any_path_counts_as_django_s_class(settings):
    settings.SECURE_SSL_REDIRECT = False
    settings.X_FRAME_OPTIONS = "SAMEORIGIN"
    found = ids(check_middleware_by_class(None))
    assert "security.W008" in found and "security.W019" in found
    assert not any(i.startswith("desk.") for i in found)  # all four are there, by class


def test_django_s_own_classes_are_left_to_django_s_checks(settings):
    settings.MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware", "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware", "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    settings.SECURE_SSL_REDIRECT = False
    assert check_middleware_by_class(None) == []  # Django's check_ssl_redirect says it, once
