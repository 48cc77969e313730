"""The Daphne command line every launcher shares (`manage.py demo`, the tests, the benchmark).

Daphne's `-b/-p` options listen with Twisted's default backlog of 50 connections. A burst bigger
than that (Plivo retrying a backlog of callbacks, a wall of dashboards reconnecting after a deploy)
overflows the kernel's accept queue: the extra connections are dropped and retried by the client
after 1, 3, 7 s…, or reset. A raw Twisted endpoint string lets us ask for a deeper queue.
"""

from __future__ import annotations

import sys

LISTEN_BACKLOG = 1024  # the kernel caps it at net.core.somaxconn (4096 on current Linux)
ASGI_APPLICATION = "contactcenter.asgi:application"


def daphne_endpoint(host: str, port: int, backlog: int = LISTEN_BACKLOG) -> str:
    """Twisted's description of a TCP listener; colons in an IPv6 address are escaped."""
    interface = host.strip("[]").replace(":", r"\:")
    return f"tcp:port={port}:interface={interface}:backlog={backlog}"


def daphne_command(
    host: str, port: int, *options: str, python: str = sys.executable, application: str = ASGI_APPLICATION
) -> list[str]:
    """`python -m daphne` serving an ASGI application on host:port with the deeper accept queue."""
    return [python, "-m", "daphne", "-e", daphne_endpoint(host, port), *options, application]
