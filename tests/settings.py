"""Settings for the test run: the real settings, with a test secret (DEBUG stays off, as in production)."""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-secret-key")

from contactcenter.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
