"""The product's settings, with two bench-only differences that touch nothing on the measured paths:

- a fast password hasher, so logging in hundreds of benchmark agents through `POST /api/auth/token/`
  takes seconds, not minutes (PBKDF2 is meant to be slow);
- a URLconf that adds one bare async view beside the product's URLs: the ceiling the intake is compared with.
"""

from contactcenter.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ROOT_URLCONF = "bench.urls"
