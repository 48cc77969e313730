"""An adrf `APIView` whose DRF steps run on the kept database threads (fastpath/db_threads.py).

Written for adrf 0.1.14 over DRF 3.18 (`async_dispatch` in adrf/views.py). adrf runs DRF's
`initial` (authentication: the token or session look-up; permissions; throttles) through
`sync_to_async`, a thread and a database connection made for each request; here it runs on a kept
thread, as the actions' own database steps do. Bought: the action overhead, our API over the
simulator alone, 39.3 → 22.8 ms with the kept threads (docs/benchmarks.md, "Action overhead"). If adrf changes how it
dispatches, tests/test_fastpath.py fails before anything else does.
"""

from __future__ import annotations

import inspect

from adrf.views import APIView

from fastpath.db_threads import in_db_thread, serving


class KeptConnectionAPIView(APIView):
    async def async_dispatch(self, request, *args, **kwargs):
        """adrf's `async_dispatch`, with `initial` on a kept thread."""
        serving(request)
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            await in_db_thread(self.initial, request, *args, **kwargs)
            method = request.method.lower()
            handler = getattr(self, method, None) if method in self.http_method_names else None
            response = (handler or self.http_method_not_allowed)(request, *args, **kwargs)
            if inspect.isawaitable(response):
                response = await response
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response
