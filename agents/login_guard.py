"""Password guessing is slowed down, the same way at every door: the API token endpoint, the
login page and the admin's login (docs/reliability.md, "The second probe").

- Each attempt is counted *before* its password is checked, per username and, separately, per
  client address, in counters every process shares (agents/rate_limits.py). So thirty attempts
  sent at once get exactly `MAX_FAILURES` checks, on any number of processes; and trying a new
  username from the same address does not start afresh.
- A good password takes its attempt back (and clears that username's count), so an office
  behind one NAT is never locked out by its own successful logins.
- At most `MAX_CONCURRENT_HASHES` passwords are hashed at once in a process; the others wait a
  moment for a turn or are told to come back. A flood of guesses then costs the server a fixed
  share of its CPU, and a real login waits its turn instead of behind forty hashes.
- The client address is the one the trusted proxies saw (`TRUSTED_PROXY_COUNT`), never the
  left-most X-Forwarded-For entry, which the client writes itself.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.contrib.auth import authenticate

from agents.rate_limits import Limit, clear, give_back, take

MAX_FAILURES = 10  # per username
MAX_FAILURES_PER_ADDRESS = 30  # several people may share an address (an office NAT)
WINDOW_SECONDS = 300
MAX_CONCURRENT_HASHES = 2
HASH_WAIT_SECONDS = 2.0

PER_USERNAME = Limit("login-username", MAX_FAILURES, WINDOW_SECONDS)
PER_ADDRESS = Limit("login-address", MAX_FAILURES_PER_ADDRESS, WINDOW_SECONDS)

# Per process: each process has its own share of the CPU to protect.
password_hash_slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)


class LoginRefused(Exception):
    """Not even tried: `throttled` (too many failures for this username or address) or `busy`
    (too many passwords being checked at once)."""

    # code: (message, HTTP status, seconds to wait before trying again)
    KINDS = {
        "throttled": ("Too many failed sign-in attempts. Wait a few minutes, then try again.", 429, WINDOW_SECONDS),
        "busy": ("Too many sign-ins at once. Try again in a moment.", 503, 1),
    }

    def __init__(self, code: str) -> None:
        message, self.http_status, self.retry_after = self.KINDS[code]
        super().__init__(message)
        self.code = code


def client_address(request) -> str:
    """The address of whoever sent the request. Each of the `TRUSTED_PROXY_COUNT` proxies in front
    appends the address it was reached from to X-Forwarded-For, so the client is that many entries
    from the right; whatever is further left was written by the client. A request with fewer
    entries did not come through the proxies: its peer address is the client."""
    peer = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return peer
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    return forwarded[-proxies] if len(forwarded) >= proxies else peer


def throttled_authenticate(request, *, username: str, password: str):
    """Django's `authenticate`, behind the throttle: the user, or None for bad credentials;
    `LoginRefused` when the password was not even checked."""
    counted = [(PER_USERNAME, username.lower()[:150]), (PER_ADDRESS, client_address(request))]
    taken = []
    for limit, who in counted:
        taken.append((limit, who))
        if not take(limit, who):
            _give_back(taken)
            raise LoginRefused("throttled")
    if not password_hash_slots.acquire(timeout=HASH_WAIT_SECONDS):
        _give_back(taken)
        raise LoginRefused("busy")
    try:
        user = authenticate(request, username=username, password=password)
    except BaseException:
        _give_back(taken)
        raise
    finally:
        password_hash_slots.release()
    if user is not None:
        clear(*counted[0])
        give_back(*counted[1])
    return user


def _give_back(taken) -> None:
    for limit, who in taken:
        give_back(limit, who)
