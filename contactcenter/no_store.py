"""`Cache-Control: no-store` on every answer under `/api/`, errors included (contract §13).

The API's answers are one person's view of live calls (and, for integrators, answers to a key):
no browser cache, proxy or shared cache may keep one for the next person. Placed outside the
middleware that can answer on their own (the body limit aside: contactcenter/body_limit.py sets it
there), so a 401, 403 or 404 carries it too. Under ASGI it runs inline on the event loop.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

API_PREFIX = "/api/"


class NoStoreForAPI:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        return _no_store(request, self.get_response(request))

    async def __acall__(self, request):
        return _no_store(request, await self.get_response(request))


def _no_store(request, response):
    if request.path_info.startswith(API_PREFIX):
        response["Cache-Control"] = "no-store"
    return response
