"""ASGI entry point: HTTP to Django; WebSockets through origin check and auth to the router."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from calls.routing import websocket_urlpatterns  # noqa: E402
from contactcenter.ws_auth import BrowserOriginValidator, SessionOrTokenAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(SessionOrTokenAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
