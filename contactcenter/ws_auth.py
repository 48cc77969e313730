"""WebSocket origin check and authentication: the session cookie (browsers) or `?token=KEY` (clients)."""

from urllib.parse import parse_qs, urlparse

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.http.request import is_same_domain


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token and token.user.is_active else None


class TokenAuthMiddleware(BaseMiddleware):
    """Runs inside the session middleware; a valid token wins over an anonymous session."""

    async def __call__(self, scope, receive, send):
        keys = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        if keys:
            user = await _user_for_token(keys[0][:64])
            if user is not None:
                scope = {**scope, "user": user}
        return await super().__call__(scope, receive, send)


def SessionOrTokenAuthStack(inner):
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))


class BrowserOriginValidator(OriginValidator):
    """Browsers always send Origin, and a foreign one is refused (cross-site WebSocket hijacking).

    A request without Origin does not come from a browser, so it cannot ride a victim's cookies;
    it is let through to authenticate like any API client.
    """

    def __init__(self, application):
        super().__init__(application, [])

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        allowed = settings.ALLOWED_HOSTS
        if settings.PUBLIC_BASE_URL:
            allowed = [*allowed, urlparse(settings.PUBLIC_BASE_URL).hostname or ""]
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        host = parsed_origin.hostname
        return bool(host) and any(pattern == "*" or is_same_domain(host, pattern) for pattern in allowed)
