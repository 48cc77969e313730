"""The one error a request about a call ends in, whatever refused it."""

from __future__ import annotations

from typing import Any

from phlo.http import PlivoError


class CallError(Exception):
    """A request about a call we answer with an error. `http_status` is that answer; `upstream` is
    Plivo's failure when there was one (its status and error text go to the requester)."""

    def __init__(self, detail: str, *, http_status: int, upstream: PlivoError | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.http_status = http_status
        self.upstream = upstream

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail}
        if self.upstream is not None:
            body.update(
                upstream_status=self.upstream.status, error=self.upstream.error, api_id=self.upstream.api_id
            )
        return body
