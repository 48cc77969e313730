"""The callback sender: a process of its own, open loop at a fixed rate over keep-alive HTTP/1.1.

Every request is built and signed (X-Plivo-Signature-V3, as Plivo signs) before the clock starts,
then sent at its scheduled instant whatever happened to the ones before it: a slow server makes
requests queue on new connections, not the sender slow down. Latencies are measured from the
scheduled instant (no coordinated omission), on CLOCK_MONOTONIC, which all processes here share.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass

from phlo.signatures import sign


@dataclass(frozen=True)
class LoadSpec:
    host: str
    ports: tuple[int, ...]  # several: the server processes behind one address, connections spread over them
    path: str  # the callback path (or the bare view's)
    auth_token: str
    rate: float
    connections: int = 16
    start_delay: float = 0.3


@dataclass(frozen=True)
class Sent:
    scheduled: float
    sent: float
    answered: float
    status: int
    outcome: str


def build_request(spec: LoadSpec, body: str, port: int) -> bytes:
    from urllib.parse import parse_qsl

    url = f"http://{spec.host}:{port}{spec.path}"
    nonce = secrets.token_hex(8)
    signature = sign(auth_token=spec.auth_token, url=url, method="POST", params=dict(parse_qsl(body)), nonce=nonce)
    payload = body.encode()
    head = (
        f"POST {spec.path} HTTP/1.1\r\nHost: {spec.host}:{port}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(payload)}\r\n"
        f"X-Plivo-Signature-V3: {signature}\r\nX-Plivo-Signature-V3-Nonce: {nonce}\r\n\r\n"
    )
    return head.encode() + payload


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Send one request, read its response: (status, body, connection still usable)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = await self.reader.read()
            return status, body, False
        keep = headers.get("connection", "").lower() != "close"
        return status, body, keep

    def close(self) -> None:
        self.writer.close()


async def _open(spec: LoadSpec, port: int) -> Connection:
    reader, writer = await asyncio.open_connection(spec.host, port)
    return Connection(reader, writer)


def port_of(spec: LoadSpec, i: int) -> int:
    """Request i goes to this server (signed for it: the signature covers the URL)."""
    return spec.ports[i % len(spec.ports)]


def _outcome(body: bytes) -> str:
    marker = b'"outcome": "'
    at = body.find(marker)
    if at < 0:
        marker = b'"outcome":"'
        at = body.find(marker)
    if at < 0:
        return ""
    start = at + len(marker)
    return body[start : body.find(b'"', start)].decode()


async def _send_all(spec: LoadSpec, requests: list[bytes]) -> tuple[list[Sent], dict]:
    per_port = max(1, spec.connections // len(spec.ports))
    idle = {port: [await _open(spec, port) for _ in range(per_port)] for port in spec.ports}
    opened = per_port * len(spec.ports)
    results: list[Sent | None] = [None] * len(requests)
    loop = asyncio.get_running_loop()
    now = time.monotonic
    errors: list[str] = []

    async def one(i: int, scheduled: float, conn: Connection | None) -> None:
        nonlocal opened
        sent = now()
        port = port_of(spec, i)
        try:
            if conn is None:
                opened += 1
                conn = await _open(spec, port)
            try:
                status, body, keep = await conn.exchange(requests[i])
            except (ConnectionError, asyncio.IncompleteReadError):
                # A keep-alive connection the server closed while it sat idle (uvicorn does after
                # 5 s): nothing was processed, so send again on a fresh one, as any HTTP client does.
                conn.close()
                opened += 1
                conn = await _open(spec, port)
                status, body, keep = await conn.exchange(requests[i])
        except Exception as exc:  # the server closed on us or refused: an error, counted
            errors.append(repr(exc))
            results[i] = Sent(scheduled, sent, now(), 0, "")
            if conn is not None:
                conn.close()
            return
        results[i] = Sent(scheduled, sent, now(), status, _outcome(body))
        if keep:
            idle[port].append(conn)
        else:
            conn.close()

    tasks = []
    t0 = now() + spec.start_delay
    interval = 1.0 / spec.rate
    lag_max = 0.0
    for i in range(len(requests)):
        scheduled = t0 + i * interval
        delay = scheduled - now()
        if delay > 0.0002:
            await asyncio.sleep(delay)
        lag_max = max(lag_max, now() - scheduled)
        pool = idle[port_of(spec, i)]
        conn = pool.pop() if pool else None  # none idle: this one opens a connection of its own
        tasks.append(loop.create_task(one(i, scheduled, conn)))
    await asyncio.gather(*tasks)
    for pool in idle.values():
        for conn in pool:
            conn.close()
    return results, {
        "connections_opened": opened,
        "send_lag_max": lag_max,
        "errors": errors[:5],
        "error_count": len(errors),
        "t0": t0,
        "elapsed": now() - t0,
    }


def worker(conn, spec: LoadSpec, bodies: list[str]) -> None:
    """The sender process: build and sign everything, say "ready", wait for "go", send, report."""
    from bench.limits import raise_fd_limit

    raise_fd_limit()
    requests = [build_request(spec, body, port_of(spec, i)) for i, body in enumerate(bodies)]
    conn.send("ready")
    conn.recv()
    started = time.process_time()
    sent, info = asyncio.run(_send_all(spec, requests))
    info["cpu_seconds"] = time.process_time() - started  # the load generator's own cost
    conn.send(([(s.scheduled, s.sent, s.answered, s.status, s.outcome) for s in sent], info))
