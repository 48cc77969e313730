"""Summarise py-spy's folded stacks (`bench.run --profile DIR`): where a server's samples went.

`python -m bench.profile_summary FILE…`: for each file, the share of samples in each part of the
path a callback takes (the first rule that matches a stack wins), and the functions with the most
samples of their own.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

# (part, any of these in the stack): the first part that matches wins.
PARTS = [
    ("intake: the ORM and SQLite", ("callback_store_and_apply", "nonce_accepted", "known_app")),
    ("intake: signature, parsing", ("_receive (calls/intake/views.py)",)),
    ("actions and routing", ("calls/actions/flow.py", "calls/queue/routing.py")),
    ("the queue's figures", ("calls/queue/figures.py",)),
    ("fan-out: presence tick", ("_flush_batches",)),
    ("fan-out: call changes", ("dispatch (live/hub.py)",)),
    ("snapshots and resync", ("snapshot_for", "resync")),
    ("WebSocket connect/close", ("websocket_connect", "websocket_disconnect", "connect (live/consumer.py)")),
    # A coroutine's samples may start at the coroutine, without the hub above it.
    ("fan-out: writing to sockets", ("live/consumer.py", "fastpath/frames.py", "autobahn/", "daphne/ws_protocol.py")),
    ("publish", ("publish (live/publish.py)",)),
    ("HTTP: Django handler and middleware", ("django/core/handlers", "fastpath/middleware.py")),
    ("HTTP: Twisted and Daphne", ("twisted/", "daphne/")),
    ("event loop", ("asyncio/",)),
]


def read(path: Path) -> Counter[str]:
    """Folded stacks, line numbers dropped (`f (file.py:12)` → `f (file.py)`): a function is one entry."""
    stacks: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[re.sub(r":\d+\)", ")", stack)] += int(count)
    return stacks


def parts(stacks: Counter[str]) -> list[tuple[str, int]]:
    out: Counter[str] = Counter()
    for stack, count in stacks.items():
        out[next((name for name, marks in PARTS if any(m in stack for m in marks)), "other")] += count
    return out.most_common()


def own(stacks: Counter[str], n: int = 12) -> list[tuple[str, int]]:
    out: Counter[str] = Counter()
    for stack, count in stacks.items():
        out[stack.rsplit(";", 1)[-1]] += count
    return out.most_common(n)


def summary(path: Path) -> str:
    stacks = read(path)
    total = sum(stacks.values()) or 1
    lines = [f"## {path.stem} ({total} samples)", "", "| part | share |", "|---|---|"]
    lines += [f"| {name} | {count / total:.0%} |" for name, count in parts(stacks)]
    lines += ["", "| function (own samples) | share |", "|---|---|"]
    lines += [f"| `{name}` | {count / total:.1%} |" for name, count in own(stacks)]
    return "\n".join(lines)


if __name__ == "__main__":
    print("\n\n".join(summary(Path(p)) for p in sys.argv[1:]))
