"""ASGI entry point: HTTP to Django; WebSockets through origin check and auth to the router."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")

from fastpath import daphne_request
from fastpath.asgi_handler import asgi_application

django_asgi_app = asgi_application()
daphne_request.install()  # form bodies parsed once, by the application (fastpath/daphne_request.py)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from calls.queue.routing import router  # noqa: E402
from contactcenter.body_limit import DeclaredBodyLimit  # noqa: E402
from contactcenter.ws_auth import BrowserOriginValidator, SessionOrTokenAuthMiddleware  # noqa: E402
from live.clock import start_clock  # noqa: E402
from live.urls import websocket_urlpatterns  # noqa: E402


class WithBackgroundWork:
    """Starts the process's background work, the call router (calls/queue/routing.py) and its clock
    (live/clock.py: wrap-ups that are over, purges), with its first request: Daphne has no lifespan
    events to start them at boot. Later requests find them running."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        router()
        start_clock()
        return await self.app(scope, receive, send)


application = WithBackgroundWork(
    ProtocolTypeRouter(
        {
            "http": DeclaredBodyLimit(django_asgi_app),
            "websocket": BrowserOriginValidator(SessionOrTokenAuthMiddleware(URLRouter(websocket_urlpatterns))),
        }
    )
)

# The cyclic garbage collector's full collections walk every live object: 50-135 ms pauses on the
# event loop, every few seconds under load, in every dashboard's latency (docs/benchmarks.md).
# Everything loaded by now (Django, the apps, URLconf, models: hundreds of thousands of objects)
# lives as long as the process, so it is frozen out of the walk; and collections run ~30x less
# often (most garbage is freed by reference counting anyway; cycles just wait a little longer).
gc.freeze()
gc.set_threshold(5_000, 20, 20)
