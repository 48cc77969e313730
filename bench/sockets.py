"""Dashboard clients: a process holding many WebSockets through the real contract (README "Live updates").

Each socket authenticates with `?token=KEY`, waits for its snapshot, then timestamps every message
as it arrives and checks that `seq` grows by one. While recording, each `call.updated` is kept as
(socket, call number, version, arrival time) for the bench to match against the callback that caused it.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from bench.scenario import call_number_of


@dataclass
class Totals:
    messages: int = 0
    call_updates: int = 0
    agent_updates: int = 0  # agent changes received (one per agent.updated, several per agents.updated)
    agent_frames: int = 0  # agents.updated frames (presence batched per tick)
    snapshots: int = 0
    seq_errors: int = 0
    closed: int = 0
    records: list[tuple[int, int, int, float]] = field(default_factory=list)


class Clients:
    def __init__(self) -> None:
        self.sockets: list = []
        self.tasks: list[asyncio.Task] = []
        self.recording = False
        self.totals = Totals()

    async def connect(self, url: str, tokens: list[str], concurrency: int = 32) -> dict:
        from websockets.asyncio.client import connect

        gate = asyncio.Semaphore(concurrency)
        failures: list[str] = []
        start = time.monotonic()

        base = len(self.sockets)
        self.sockets.extend([None] * len(tokens))

        async def one(index: int, token: str) -> None:
            async with gate:
                try:
                    ws = await connect(
                        f"{url}?token={token}",
                        compression=None,
                        max_size=None,
                        ping_interval=None,
                        open_timeout=120,
                        close_timeout=2,
                        max_queue=None,
                    )
                    first = json.loads(await asyncio.wait_for(ws.recv(), 120))
                except Exception as exc:
                    failures.append(repr(exc))
                    return
            if first.get("type") != "snapshot":
                failures.append(f"first message {first.get('type')}")
            self.sockets[index] = ws
            self.tasks.append(asyncio.create_task(self._read(index, ws, first["seq"])))

        await asyncio.gather(*(one(base + i, t) for i, t in enumerate(tokens)))
        return {
            "connected": len(tokens) - len(failures),
            "failed": len(failures),
            "failures": failures[:3],
            "seconds": time.monotonic() - start,
            "total": len(self.sockets),
        }

    async def _read(self, index: int, ws, seq: int) -> None:
        now = time.monotonic
        loads = json.loads
        try:
            async for raw in ws:
                arrived = now()
                totals = self.totals  # replaced by each start()
                message = loads(raw)
                totals.messages += 1
                if message["seq"] != seq + 1:
                    totals.seq_errors += 1
                seq = message["seq"]
                kind = message["type"]
                if kind == "call.updated":
                    totals.call_updates += 1
                    if self.recording:
                        call = message["call"]
                        members = call["members"]
                        number = call_number_of(members[0]["address"]) if members else None
                        if number is not None:
                            totals.records.append((index, number, call["version"], arrived))
                elif kind == "agent.updated":
                    totals.agent_updates += 1
                elif kind == "agents.updated":
                    totals.agent_updates += len(message["agents"])
                    totals.agent_frames += 1
                elif kind == "snapshot":
                    totals.snapshots += 1
        except Exception:
            pass
        self.totals.closed += 1

    def start(self) -> None:
        self.totals = Totals(closed=self.totals.closed)
        self.recording = True

    def stop(self) -> Totals:
        self.recording = False
        return self.totals

    async def close_all(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets if ws is not None), return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.sockets, self.tasks = [], []


def serve(conn) -> None:
    """The process body: obey commands from the bench over a multiprocessing pipe."""
    from bench.limits import raise_fd_limit

    raise_fd_limit()

    async def main() -> None:
        clients = Clients()
        loop = asyncio.get_running_loop()
        while True:
            command, args = await loop.run_in_executor(None, conn.recv)
            if command == "connect":
                conn.send(await clients.connect(*args))
            elif command == "start":
                clients.start()
                conn.send(True)
            elif command == "stop":
                await asyncio.sleep(args or 0)
                totals = clients.stop()
                conn.send(totals)
            elif command == "close":
                await clients.close_all()
                conn.send(True)
            elif command == "exit":
                await clients.close_all()
                conn.send(True)
                return

    asyncio.run(main())
