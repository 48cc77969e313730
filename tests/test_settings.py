"""Settings come from the environment (README "Configuration"); each case loads them in a fresh interpreter."""

import json
import subprocess
import sys

from tests.support.servers import ROOT, base_env

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'layer': s.CHANNEL_LAYERS['default']['BACKEND'], "
    "'layer_config': s.CHANNEL_LAYERS['default'].get('CONFIG', {}), 'db': s.DATABASES['default'], "
    "'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, 'phlo': s.PHLO_BASE_URL, 'timeout': s.PHLO_TIMEOUT, "
    "'verify': s.PLIVO_VERIFY_SIGNATURES, 'apps': s.INSTALLED_APPS[:1], "
    "'secure_cookies': [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE]}, default=str))"
)


def load_settings(**env):
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**base_env(DJANGO_SETTINGS_MODULE="contactcenter.settings"), **env},
    )
    return result


def settings_with(**env):
    result = load_settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_are_sqlite_with_wal_and_the_in_memory_layer():
    loaded = settings_with()
    assert loaded["layer"] == "channels.layers.InMemoryChannelLayer"
    db = loaded["db"]
    assert db["ENGINE"] == "django.db.backends.sqlite3" and db["NAME"].endswith("db.sqlite3")
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert db["OPTIONS"]["timeout"] >= 5
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert loaded["phlo"] == "https://phlorunner.plivo.com/v1" and loaded["timeout"] == 5.0
    assert loaded["verify"] is True
    assert loaded["hosts"] == ["localhost", "127.0.0.1"]
    assert loaded["apps"] == ["daphne"]


def test_redis_url_switches_to_channels_redis():
    loaded = settings_with(REDIS_URL="redis://127.0.0.1:6390/0")
    assert loaded["layer"].startswith("channels_redis.")
    assert loaded["layer_config"]["hosts"] == ["redis://127.0.0.1:6390/0"]


def test_database_url_switches_to_postgresql_without_persistent_connections():
    db = settings_with(DATABASE_URL="postgres://cc:pw@db.internal:5433/desk")["db"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == ("db.internal", 5433, "desk", "cc")
    assert db["CONN_MAX_AGE"] == 0


def test_other_variables_are_read():
    loaded = settings_with(ALLOWED_HOSTS="cc.example.com, .internal", PHLO_BASE_URL="http://127.0.0.1:8100/v1/",
                           PHLO_TIMEOUT="2.5", PLIVO_VERIFY_SIGNATURES="false")
    assert loaded["hosts"] == ["cc.example.com", ".internal"]
    assert loaded["phlo"] == "http://127.0.0.1:8100/v1"
    assert loaded["timeout"] == 2.5 and loaded["verify"] is False


def test_debug_off_without_secret_key_refuses_to_start():
    env = base_env(DJANGO_SETTINGS_MODULE="contactcenter.settings", DEBUG="false")
    env.pop("SECRET_KEY")
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_with_no_secret_key_uses_a_development_key():
    env = base_env(DJANGO_SETTINGS_MODULE="contactcenter.settings", DEBUG="true")
    env.pop("SECRET_KEY")
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_nonsense_boolean_is_a_clear_error():
    result = load_settings(PLIVO_VERIFY_SIGNATURES="maybe")
    assert result.returncode != 0 and "PLIVO_VERIFY_SIGNATURES must be true or false" in result.stderr
