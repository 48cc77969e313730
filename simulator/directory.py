"""The PHLO apps the simulator serves, from a loader its starter hands it (devtools reads them
from the desk's configuration, as Plivo's console would hold them).

Kept in memory; loaded again whenever a request names a PHLO or presents credentials we do not
know, so `configure_phlo` takes effect without a restart.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Phlo:
    phlo_id: str
    node_id: str
    name: str
    auth_id: str
    auth_token: str
    is_default: bool
    created_on: str  # as Plivo writes it: "2020-08-01 09:04:40.632232+00:00"

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"<Phlo {self.phlo_id}>"

    def owned_by(self, auth_id: str) -> bool:
        return hmac.compare_digest(self.auth_id.encode(), auth_id.encode())

    def accepts(self, auth_id: str, auth_token: str) -> bool:
        return self.owned_by(auth_id) and hmac.compare_digest(self.auth_token.encode(), auth_token.encode())


class PhloDirectory:
    def __init__(self, load: Callable[[], list[Phlo]]):
        self._load = load
        self._phlos: dict[str, Phlo] = {}

    async def refresh(self) -> None:
        phlos = await asyncio.to_thread(self._load)
        self._phlos = {phlo.phlo_id: phlo for phlo in phlos}

    async def find(self, phlo_id: str) -> Phlo | None:
        if phlo_id not in self._phlos:
            await self.refresh()
        return self._phlos.get(phlo_id)

    async def authenticate(self, auth_id: str, auth_token: str) -> bool:
        """Credentials are good when some PHLO app's account has them (as on Plivo, where the
        account, not the PHLO, is what logs in)."""
        if not any(phlo.accepts(auth_id, auth_token) for phlo in self._phlos.values()):
            await self.refresh()
        return any(phlo.accepts(auth_id, auth_token) for phlo in self._phlos.values())

    async def default(self) -> Phlo | None:
        """The PHLO that simulated customers call: the default app, else the first one."""
        await self.refresh()
        return next(iter(self._phlos.values()), None)

    def cached(self, phlo_id: str) -> Phlo | None:
        """The latest we know, without asking the database (the courier signs with it)."""
        return self._phlos.get(phlo_id)

    def known(self) -> list[Phlo]:
        return list(self._phlos.values())
