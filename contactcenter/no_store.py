"""`Cache-Control: no-store` on every answer under `/api/`, errors included (docs/operations.md).

The API's answers are one person's view of live calls (and, for integrators, answers to a key):
no browser cache, proxy or shared cache may keep one for the next person. Placed outside the
middleware that can answer on their own (the body limit aside: contactcenter/body_limit.py sets it
there), so a 401, 403 or 404 carries it too. Under ASGI it runs inline on the event loop.
"""

from __future__ import annotations

from fastpath.middleware import BothWays

API_PREFIX = "/api/"


class NoStoreForAPI(BothWays):
    def __call_sync__(self, request):
        return _no_store(request, self.get_response(request))

    async def __acall__(self, request):
        return _no_store(request, await self.get_response(request))


def _no_store(request, response):
    if request.path_info.startswith(API_PREFIX):
        response["Cache-Control"] = "no-store"
    return response
