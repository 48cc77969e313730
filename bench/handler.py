"""`python -m bench.handler`: what Django's ASGI handler costs a request, against the product's
(fastpath/asgi_handler.py), in this process: the bench's bare view behind the product's middleware,
served back to back with no server and no network, so only the handler differs.

Prints CPU and wall time per request for each handler, in alternating rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ.setdefault("SECRET_KEY", "bench-handler-only")

import django

django.setup()

from django.core.handlers.asgi import ASGIHandler  # noqa: E402

from fastpath.asgi_handler import InlineSignalsASGIHandler  # noqa: E402

URL = "/bench/bare/handler/"
SCOPE = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
    "path": URL, "raw_path": URL.encode(), "query_string": b"", "root_path": "",
    "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 50000), "server": ("localhost", 80),
}


async def serve(handler: ASGIHandler) -> int:
    asked = False
    status = []

    async def receive():
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await handler(dict(SCOPE), receive, send)
    return status[0]


async def measure(handler: ASGIHandler, requests: int) -> tuple[float, float]:
    """CPU and wall milliseconds per request."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        await serve(handler)
    return (time.process_time() - cpu) / requests * 1000, (time.perf_counter() - wall) / requests * 1000


async def main(requests: int, rounds: int) -> None:
    handlers = {"Django's ASGIHandler": ASGIHandler(), "fastpath InlineSignalsASGIHandler": InlineSignalsASGIHandler()}
    for handler in handlers.values():
        assert await serve(handler) == 200
        await measure(handler, requests // 10)  # warm up
    for round_ in range(1, rounds + 1):
        for name, handler in handlers.items():
            cpu, wall = await measure(handler, requests)
            print(f"round {round_}  {name:34}  CPU {cpu:.3f} ms  wall {wall:.3f} ms per request")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
