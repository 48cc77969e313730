"""Who watches, and who may receive a message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Viewer:
    """A signed-in person on a dashboard: their agent (if any) and whether they see everything."""

    user_id: int
    agent_id: int | None
    is_supervisor: bool


@dataclass(frozen=True)
class Audience:
    """Everyone; or the supervisors and some agents. Travels as a plain dict (`as_dict`), so the
    channel layer can carry it."""

    everyone: bool = False
    supervisors: bool = False
    agent_ids: frozenset[int] = frozenset()

    @classmethod
    def supervisors_and(cls, agent_ids: Iterable[int]) -> Audience:
        return cls(supervisors=True, agent_ids=frozenset(agent_ids))

    def admits(self, viewer: Viewer) -> bool:
        return admits(self.as_dict(), viewer)

    def as_dict(self) -> dict:
        return {"everyone": self.everyone, "supervisors": self.supervisors, "agents": sorted(self.agent_ids)}


EVERYONE = Audience(everyone=True)


def admits(audience: dict, viewer: Viewer) -> bool:
    """The one rule, on the dict form a message carries."""
    return (
        audience["everyone"]
        or (audience["supervisors"] and viewer.is_supervisor)
        or (viewer.agent_id is not None and viewer.agent_id in audience["agents"])
    )
