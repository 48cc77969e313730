"""What the domain apps tell the transport, registered from their `AppConfig.ready()`: how to
know a viewer, what their snapshot holds, and the periodic jobs each process's hub runs. The
transport imports no app; the apps plug in here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from live.audience import Viewer


@dataclass(frozen=True)
class Snapshot:
    """What a dashboard shows when it (re)connects: the frame's body (`calls`, `agents`, …), and
    the version of each keyed thing in it, so changes it already contains are not sent again."""

    body: dict[str, Any]
    versions: dict[str, int]


class World(Protocol):
    """Everything every snapshot is cut from, read once when a process resyncs all its dashboards."""

    def snapshot_for(self, viewer: Viewer) -> Snapshot: ...


@dataclass(frozen=True)
class PeriodicJob:
    """Sync work each process runs every `seconds`; it returns the messages to publish. Jobs must be
    safe to run on several processes at once. `while_watched`: only while the process has dashboards
    (the hub runs it: figures nobody on this process would see); else always, from the process's
    first request on (live/clock.py: a wrap-up ends whether anyone watches or not)."""

    name: str
    seconds: float
    run: Callable[[], list[dict]]
    while_watched: bool = False


@dataclass
class Sources:
    viewer_for: Callable[[Any], Viewer] | None = None  # a user → their Viewer (sync, reads the database)
    snapshot_for: Callable[[Viewer], Snapshot] | None = None  # sync
    world: Callable[[], World] | None = None  # sync
    periodic: list[PeriodicJob] = field(default_factory=list)


sources = Sources()


def register_viewers(viewer_for: Callable[[Any], Viewer]) -> None:
    sources.viewer_for = viewer_for


def register_snapshots(*, snapshot_for: Callable[[Viewer], Snapshot], world: Callable[[], World]) -> None:
    sources.snapshot_for = snapshot_for
    sources.world = world


def register_periodic(job: PeriodicJob) -> None:
    if all(existing.name != job.name for existing in sources.periodic):
        sources.periodic.append(job)
