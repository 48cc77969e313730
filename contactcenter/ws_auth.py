"""WebSocket origin check and authentication: the session cookie (browsers) or `?token=KEY` (clients)."""

from importlib import import_module
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from django.http.request import is_same_domain


def _header(scope, name: bytes) -> str:
    return next((value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name), "")


def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token and token.user.is_active else None


def _user_for_session(session_key: str):
    """Django's own rules for a session's user (backend, session hash after a password change)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return get_user(SimpleNamespace(session=session))


@database_sync_to_async
def _user_of(scope):
    """A valid `?token=KEY` wins; else the session cookie; else anonymous."""
    keys = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    if keys:
        user = _user_for_token(keys[0][:64])
        if user is not None:
            return user
    session_key = parse_cookie(_header(scope, b"cookie")).get(settings.SESSION_COOKIE_NAME)
    return _user_for_session(session_key) if session_key else AnonymousUser()


class SessionOrTokenAuthMiddleware:
    """Who is on the socket, decided once when it connects: `scope["user"]`.

    Channels' AuthMiddlewareStack would do the same, but it also wraps the socket's `send` to save
    a changed session, a check on each of the hundreds of messages a dashboard receives; a
    dashboard never changes its session, so messages here go straight to Daphne.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = await _user_of(scope)
        return await self.inner({**scope, "user": user}, receive, send)


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
