"""The product's settings, with three bench-only differences that touch nothing on the measured paths:

- a fast password hasher, so logging in hundreds of benchmark agents through `POST /api/auth/token/`
  takes seconds, not minutes (PBKDF2 is meant to be slow);
- a URLconf that adds one bare async view beside the product's URLs: the ceiling the intake is compared with;
- no cap on sockets per person: the memory step opens 5,000 sockets with ten agents' tokens.
"""

from contactcenter.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ROOT_URLCONF = "bench.urls"
MAX_SOCKETS_PER_USER = 10_000
