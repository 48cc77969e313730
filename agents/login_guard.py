"""Repeated failed logins from one address for one username are refused for a while.

Only failures count, so a busy shift logging in from one office NAT is never locked out by
its own successful logins. Shared by the API token endpoint and the login page.
"""

import hashlib

from django.core.cache import cache

MAX_FAILURES = 10
WINDOW_SECONDS = 300


def _key(username: str, remote_addr: str) -> str:
    # Hashed: a username is whatever was typed, and some cache backends refuse keys with
    # spaces or control characters (memcached) or longer than 250 characters.
    typed = f"{remote_addr}\n{username.lower()[:150]}".encode("utf-8", "surrogatepass")
    return f"login-failures:{hashlib.sha256(typed).hexdigest()}"


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def login_blocked(username: str, remote_addr: str) -> bool:
    return cache.get(_key(username, remote_addr), 0) >= MAX_FAILURES


def login_failed(username: str, remote_addr: str) -> None:
    key = _key(username, remote_addr)
    if not cache.add(key, 1, WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, WINDOW_SECONDS)


def login_succeeded(username: str, remote_addr: str) -> None:
    cache.delete(_key(username, remote_addr))
