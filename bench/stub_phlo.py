"""A stub PHLO API for the routing step: answers every request at once (201, an api_id) and writes
down when each multiparty-call node `call` request arrived (CLOCK_MONOTONIC, which the bench's
processes share) and for which trigger source (the waiting customer's address).

`python -m bench.stub_phlo --port P --out FILE`: one line per `call` request, "<monotonic> <trigger_source>".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid


async def _serve(port: int, out_path: str) -> None:
    out = open(out_path, "a", buffering=1)  # noqa: SIM115 - open for the life of the process

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = time.monotonic()
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                try:
                    payload = json.loads(body) if body else {}
                except ValueError:
                    payload = {}
                if isinstance(payload, dict) and payload.get("action") == "call":
                    out.write(f"{arrived:.6f} {payload.get('trigger_source', '')}\n")
                answer = json.dumps({"api_id": uuid.uuid4().hex, "message": "ok"}).encode()
                writer.write(
                    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def read_calls(path: str) -> dict[str, float]:
    """trigger source → when its first `call` request arrived."""
    first: dict[str, float] = {}
    try:
        with open(path) as lines:
            for line in lines:
                at, _, source = line.strip().partition(" ")
                first.setdefault(source, float(at))
    except FileNotFoundError:
        pass
    return first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.out))


if __name__ == "__main__":
    main()
