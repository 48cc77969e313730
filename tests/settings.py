"""Settings for the test run: the real settings, with a test secret (DEBUG stays off, as in production)."""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-secret-key")

from contactcenter.env import env_bool
from contactcenter.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
# In-process tests drive the router's passes themselves (tests/test_routing.py); servers started
# for a test switch it on with the environment.
ROUTER_ENABLED = env_bool("ROUTER_ENABLED", False)
